package io.spillway.node.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class FairShareSchedulerTest {

  /** Busy-waits for {@code nanos}: a kernel holding the GPU. */
  private static void spin(long nanos) {
    long end = System.nanoTime() + nanos;
    while (System.nanoTime() < end) {
      Thread.onSpinWait();
    }
  }

  /**
   * Keeps every share busy with 200 us "kernels" for a while; returns each one's fraction of GPU time.
   * Kernels much shorter than a thread wake-up would measure the OS scheduler rather than ours.
   */
  private static double[] runBusy(long millis, FairShareScheduler.Share... shares) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    Thread[] threads = new Thread[shares.length];
    for (int i = 0; i < shares.length; i++) {
      FairShareScheduler.Share share = shares[i];
      threads[i] = new Thread(() -> {
        try {
          go.await();
          while (!stop.get()) {
            waiting.incrementAndGet();
            assertTrue(share.acquire());
            waiting.decrementAndGet();
            spin(200_000);
            // Every other session waits for the GPU before this one lets it go, so each decision of
            // the scheduler is made with all of them backlogged, however the OS schedules the threads
            // on a busy machine (otherwise a preempted thread is simply absent and loses its turns).
            long patience = System.nanoTime() + 50_000_000L;
            while (waiting.get() < shares.length - 1 && !stop.get() && System.nanoTime() < patience) {
              Thread.onSpinWait();
            }
            // Charged what the kernel asked for, not the wall time: a thread the OS preempts while it
            // spins would otherwise be charged for time it did not use the GPU.
            share.release(200_000);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      threads[i].start();
    }
    go.countDown();
    Thread.sleep(millis);
    stop.set(true);
    for (Thread t : threads) {
      t.join();
    }
    double total = 0;
    for (FairShareScheduler.Share s : shares) {
      total += s.busyNanos();
    }
    double[] fractions = new double[shares.length];
    for (int i = 0; i < shares.length; i++) {
      fractions[i] = shares[i].busyNanos() / total;
    }
    return fractions;
  }

  @Test
  void uncontendedAcquireIsImmediate() throws Exception {
    FairShareScheduler gpu = new FairShareScheduler("gpu-0");
    FairShareScheduler.Share s = gpu.register("a", 50);
    assertFalse(s.shared());
    for (int i = 0; i < 1000; i++) {
      assertTrue(s.acquire(1));
      s.release(10);
    }
    assertEquals(1000, s.launches());
    assertEquals(10_000, s.busyNanos());
  }

  @Test
  void busySessionsGetTimeInProportionToTheirShares() throws Exception {
    FairShareScheduler gpu = new FairShareScheduler("gpu-0");
    double[] f = runBusy(1200, gpu.register("quarter", 25), gpu.register("rest", 75));
    assertTrue(f[0] > 0.17 && f[0] < 0.33, "the 25% session got " + f[0] + " of the GPU's time");
  }

  @Test
  void unreservedSessionsShareWhatReservationsLeave() throws Exception {
    FairShareScheduler gpu = new FairShareScheduler("gpu-0");
    FairShareScheduler.Share reserved = gpu.register("r", 50);
    FairShareScheduler.Share a = gpu.register("a", 0);
    FairShareScheduler.Share b = gpu.register("b", 0);
    double[] f = runBusy(1200, reserved, a, b);
    assertTrue(f[0] > 0.40 && f[0] < 0.60, "the 50% session got " + f[0]);
    assertTrue(f[1] > 0.17 && f[1] < 0.33, "an unreserved session got " + f[1]);
    assertTrue(reserved.shared());
    reserved.close();
    a.close();
    assertFalse(b.shared());
  }
}
