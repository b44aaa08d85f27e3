package io.spillway.pool.placement;

import static io.spillway.pool.placement.Fleet.GIB;
import static io.spillway.pool.placement.Fleet.assertInvariant;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.pool.model.SessionId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ConcurrentPlacementTest {

  /** Snapshots the placer until stopped, failing on the first card it sees overcommitted. */
  private static final class Monitor implements Runnable {
    final SlicePlacer placer;
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicInteger snapshots = new AtomicInteger();
    final AtomicReference<Throwable> failure = new AtomicReference<>();

    Monitor(SlicePlacer placer) {
      this.placer = placer;
    }

    @Override
    public void run() {
      try {
        while (!stop.get()) {
          assertInvariant(placer.snapshot());
          snapshots.incrementAndGet();
        }
      } catch (Throwable t) {
        failure.set(t);
      }
    }
  }

  @Test
  void racersForTheLastSlicesGetExactlyTheCapacity() throws Exception {
    Fleet fleet = new Fleet().node("node-a", 4, "V100", 32 * GIB, 0).node("node-b", 4, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    SliceRequest quarter = SliceRequest.builder("acme").memoryBytes(8 * GIB).computePercent(25).build();
    // 8 cards x 4 quarters = 32 slices; take 22 so that 10 are left to race for.
    for (int i = 0; i < 22; i++) {
      assertInstanceOf(Placement.Placed.class, placer.place(SessionId.of("pre-" + i), quarter));
    }

    int threads = 16;
    int opens = 1000;
    ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
    Monitor monitor = new Monitor(placer);
    CountDownLatch start = new CountDownLatch(1);
    AtomicInteger nextOpen = new AtomicInteger();
    Set<SessionId> winners = ConcurrentHashMap.newKeySet();
    AtomicInteger rejectedOther = new AtomicInteger();
    try {
      pool.submit(monitor);
      List<Future<?>> racers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        racers.add(pool.submit(() -> {
          start.await();
          int i;
          while ((i = nextOpen.getAndIncrement()) < opens) {
            SessionId id = SessionId.of("race-" + i);
            Placement p = placer.place(id, quarter);
            if (p instanceof Placement.Placed) {
              winners.add(id);
            } else if (((Placement.Rejected) p).reason() != Placement.Reason.NO_CAPACITY) {
              rejectedOther.incrementAndGet();
            }
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> racer : racers) {
        racer.get(10, TimeUnit.SECONDS);
      }
    } finally {
      monitor.stop.set(true);
      pool.shutdown();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }
    if (monitor.failure.get() != null) {
      throw new AssertionError("monitor saw an overcommitted card", monitor.failure.get());
    }
    assertTrue(monitor.snapshots.get() > 0);
    assertEquals(10, winners.size());
    assertEquals(0, rejectedOther.get());
    PoolSnapshot end = assertInvariant(placer.snapshot());
    assertTrue(end.gpus().stream().allMatch(g -> g.memoryFreeBytes() == 0 && g.computeAllocatedPercent() == 100),
        end.gpus().toString());
    assertEquals(32, end.sessions().size());
  }

  @Test
  void churnWithAFlappingNodeKeepsTheBooksStraight() throws Exception {
    TenantQuotas quotas = TenantQuotas.of(new TenantQuota(0, 8 * 32 * GIB), Map.of());
    Fleet fleet = new Fleet(quotas).node("node-a", 4, "V100", 32 * GIB, 0).node("node-b", 4, "P40", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    int threads = 6;
    ExecutorService pool = Executors.newFixedThreadPool(threads + 2);
    Monitor monitor = new Monitor(placer);
    CountDownLatch start = new CountDownLatch(1);
    AtomicInteger placedCount = new AtomicInteger();
    try {
      pool.submit(monitor);
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int seed = t;
        workers.add(pool.submit(() -> {
          Random random = new Random(seed);
          List<SessionId> mine = new ArrayList<>();
          start.await();
          for (int i = 0; i < 400; i++) {
            if (!mine.isEmpty() && random.nextInt(3) == 0) {
              placer.release(mine.remove(random.nextInt(mine.size())));
              continue;
            }
            SessionId id = SessionId.of("w" + seed + "-" + i);
            SliceRequest request = SliceRequest.builder("acme")
                .memoryBytes((1 + random.nextInt(16)) * GIB)
                .computePercent(1 + random.nextInt(40))
                .gpus(1 + random.nextInt(2))
                .strategy(random.nextBoolean() ? PlacementStrategy.BINPACK : PlacementStrategy.SPREAD)
                .build();
            if (placer.place(id, request) instanceof Placement.Placed) {
              mine.add(id);
              placedCount.incrementAndGet();
            }
          }
          mine.forEach(placer::release);
          return null;
        }));
      }
      Future<?> flapper = pool.submit(() -> {
        start.await();
        for (int i = 0; i < 50; i++) {
          fleet.registry.markDown("node-b", "flap " + i);
          fleet.registry.register(Fleet.registration("node-b", 4, "P40", 32 * GIB, 0));
        }
        return null;
      });
      start.countDown();
      for (Future<?> worker : workers) {
        worker.get(20, TimeUnit.SECONDS);
      }
      flapper.get(20, TimeUnit.SECONDS);
    } finally {
      monitor.stop.set(true);
      pool.shutdown();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }
    if (monitor.failure.get() != null) {
      throw new AssertionError("monitor saw an inconsistent pool", monitor.failure.get());
    }
    assertTrue(placedCount.get() > 100, "placed " + placedCount.get());
    PoolSnapshot end = placer.snapshot();
    assertEquals(List.of(), end.sessions());
    assertEquals(0, end.gpus().stream().mapToLong(GpuView::memoryAllocatedBytes).sum());
    assertEquals(0, end.gpus().stream().mapToInt(GpuView::computeAllocatedPercent).sum());
    // The tenant's memory books are back to zero: its whole quota (the whole pool) can be placed again.
    for (int i = 0; i < 8; i++) {
      assertInstanceOf(Placement.Placed.class, placer.place(SessionId.of("full-" + i),
          SliceRequest.builder("acme").memoryPercent(100).computePercent(100).build()));
    }
  }
}
