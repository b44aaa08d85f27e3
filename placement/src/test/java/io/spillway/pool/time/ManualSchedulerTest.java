package io.spillway.pool.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class ManualSchedulerTest {

  private final ManualScheduler scheduler = ManualScheduler.atEpochOf2025();
  private final Instant t0 = scheduler.clock().instant();
  private final List<String> ran = new CopyOnWriteArrayList<>();

  private Runnable log(String name) {
    return () -> ran.add(name + "@" + Duration.between(t0, scheduler.clock().instant()).toMillis());
  }

  @Test
  void nothingRunsUntilTimeIsAdvancedAndThenInDeadlineOrderEachAtItsOwnTime() {
    scheduler.schedule(log("b"), 200, TimeUnit.MILLISECONDS);
    scheduler.schedule(log("a"), 100, TimeUnit.MILLISECONDS);
    scheduler.schedule(log("c"), 200, TimeUnit.MILLISECONDS);
    scheduler.execute(log("now"));
    assertTrue(ran.isEmpty());
    scheduler.advance(Duration.ofMillis(150));
    assertEquals(List.of("now@0", "a@100"), ran);
    assertEquals(t0.plusMillis(150), scheduler.clock().instant());
    assertEquals(Duration.ofMillis(50), scheduler.nextDelay());
    scheduler.advance(Duration.ofMillis(50));
    assertEquals(List.of("now@0", "a@100", "b@200", "c@200"), ran, "ties run in the order scheduled");
    assertNull(scheduler.nextDelay());
  }

  @Test
  void aTaskScheduledByATaskWithinTheSpanRunsToo() {
    scheduler.schedule(() -> scheduler.schedule(log("retry"), 30, TimeUnit.MILLISECONDS), 10, TimeUnit.MILLISECONDS);
    scheduler.advance(Duration.ofMillis(100));
    assertEquals(List.of("retry@40"), ran);
  }

  @Test
  void aPeriodicTaskRunsOncePerPeriodUntilCancelled() {
    ScheduledFuture<?> f = scheduler.scheduleAtFixedRate(log("tick"), 10, 20, TimeUnit.MILLISECONDS);
    scheduler.advance(Duration.ofMillis(55));
    assertEquals(List.of("tick@10", "tick@30", "tick@50"), ran);
    assertEquals(1, scheduler.pending());
    assertTrue(f.cancel(false));
    assertEquals(0, scheduler.pending());
    scheduler.advance(Duration.ofSeconds(1));
    assertEquals(3, ran.size());
  }

  @Test
  void aCancelledTaskNeverRuns() {
    ScheduledFuture<?> f = scheduler.schedule(log("x"), 1, TimeUnit.SECONDS);
    assertEquals(1000, f.getDelay(TimeUnit.MILLISECONDS));
    f.cancel(false);
    scheduler.advance(Duration.ofSeconds(2));
    assertTrue(ran.isEmpty());
  }

  @Test
  void aFailedTaskKeepsItsExceptionAndAPendingOneDoesNotBlock() throws Exception {
    ScheduledFuture<Integer> ok = scheduler.schedule(() -> 7, 5, TimeUnit.MILLISECONDS);
    ScheduledFuture<Object> bad = scheduler.schedule(() -> {
      throw new IllegalStateException("boom");
    }, 5, TimeUnit.MILLISECONDS);
    assertThrows(TimeoutException.class, () -> ok.get(1, TimeUnit.HOURS), "a pending task does not block");
    scheduler.advance(Duration.ofMillis(5));
    assertEquals(7, ok.get(0, TimeUnit.SECONDS));
    ExecutionException e = assertThrows(ExecutionException.class, bad::get);
    assertEquals("boom", e.getCause().getMessage());
  }

  @Test
  void shutdownDropsPeriodicTasksAndRefusesNewOnes() {
    scheduler.scheduleAtFixedRate(log("tick"), 0, 10, TimeUnit.MILLISECONDS);
    scheduler.schedule(log("once"), 10, TimeUnit.MILLISECONDS);
    scheduler.shutdown();
    assertFalse(scheduler.isTerminated());
    assertThrows(RejectedExecutionException.class, () -> scheduler.execute(log("late")));
    scheduler.advance(Duration.ofMillis(10));
    assertEquals(List.of("once@10"), ran);
    assertTrue(scheduler.isTerminated());
  }
}
