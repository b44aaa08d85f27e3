package io.spillway.lease;

import static io.spillway.lease.LeaseTestSupport.GIB;
import static io.spillway.lease.LeaseTestSupport.node;
import static io.spillway.lease.LeaseTestSupport.slice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.registry.Node;
import io.spillway.pool.time.ManualClock;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.testkit.Await;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Deadlines on an injected clock: a silent edge's lease expires; a revoked lease drains. */
class LeaseExpiryTest {

  /**
   * The leader's clock, counting its readings: the leader reads the clock once per loop turn, before it
   * handles that turn's records and expiry, so two readings after an advance mean a whole turn has run
   * at the new time. What a turn would have done, it has done by then: a negative assertion can follow.
   */
  private static final class LeaderTurns implements InstantSource {
    private final ManualClock clock;
    private final AtomicLong readings = new AtomicLong();

    LeaderTurns(ManualClock clock) {
      this.clock = clock;
    }

    @Override
    public Instant instant() {
      readings.incrementAndGet();
      return clock.instant();
    }

    void awaitTurns(int n, String what) {
      long from = readings.get();
      Await.until(what, () -> readings.get() >= from + n);
    }
  }

  private static final TestBroker kafka = TestBroker.create();
  private static String bootstrap;

  @BeforeAll
  static void startKafka() {
    bootstrap = kafka.start();
    LeaseTopics.ensure(bootstrap, (short) 1);
  }

  @AfterAll
  static void stopKafka() {
    kafka.stop();
  }

  @Test
  void silentEdgeExpiresAndRevokedLeaseDrainsThenEnds() throws Exception {
    List<Node> center = List.of(node("c1", 1, 16, "A100"));
    SlicePlacer placer = LeaseTestSupport.placer(center);
    ManualClock clock = ManualClock.atEpochOf2025();
    LeaseConfig config = LeaseTestSupport.fastConfig()
        .withSkewMargin(Duration.ofMillis(500))
        .withLeaseDuration(Duration.ofSeconds(2))
        .withDrainDuration(Duration.ofSeconds(10));
    Duration t = Duration.ofSeconds(15);
    LeaderTurns turns = new LeaderTurns(clock);
    try (LeaseManager leader = new LeaseManager(bootstrap, "center-1", placer,
            CenterInventory.of(center), config, turns);
        LeaseClient edge = new LeaseClient(bootstrap, "edge-silent", config, clock);
        LeaseAdmin admin = new LeaseAdmin(bootstrap, "ops")) {
      Map<String, LeaseState> lastSeen = new ConcurrentHashMap<>();
      edge.addListener((before, now) -> lastSeen.put(now.getLeaseId(), now.getState()));
      leader.start();
      edge.start(t);
      Await.until(t, "leader", leader::isLeader);

      Lease lease = edge.request(slice(8, 50), t).get(20, TimeUnit.SECONDS);
      assertEquals(LeaseState.GRANTED, lease.getState(), lease.getReason());
      assertEquals(clock.millis() + 2000, lease.getDeadlineMillis());
      assertEquals(8 * GIB, placer.snapshot().gpus().get(0).memoryAllocatedBytes());

      // Inside the skew margin: the edge stops using it, the center still holds it.
      clock.advance(Duration.ofMillis(1600));
      assertFalse(edge.usable(lease), "past deadline - skew margin");
      turns.awaitTurns(2, "the leader has run turns at this clock reading");
      assertEquals(LeaseState.GRANTED, leader.lease(lease.getLeaseId()).orElseThrow().getState());
      assertEquals(8 * GIB, placer.snapshot().gpus().get(0).memoryAllocatedBytes());

      // Past the deadline with no renewal: EXPIRED, capacity back.
      clock.advance(Duration.ofMillis(400));
      Await.until(t, "expired seen by edge", () -> lastSeen.get(lease.getLeaseId()) == LeaseState.EXPIRED);
      assertEquals(0, placer.snapshot().gpus().get(0).memoryAllocatedBytes());
      assertTrue(leader.liveLeases().isEmpty());
      // A renewal after expiry changes nothing.
      edge.renew(lease, Duration.ofMillis(500)).handle((l, e) -> l).get(5, TimeUnit.SECONDS);
      assertEquals(LeaseState.EXPIRED, edge.lease(lease.getLeaseId()).orElseThrow().getState());

      // Revoke, the edge releases while draining: RELEASED.
      Lease drained = edge.request(slice(4, 20), t).get(20, TimeUnit.SECONDS);
      admin.revoke(drained.getLeaseId(), "rebalance to edge-b", t);
      Await.until(t, "draining", () -> lastSeen.get(drained.getLeaseId()) == LeaseState.DRAINING);
      Lease draining = edge.lease(drained.getLeaseId()).orElseThrow();
      assertEquals(clock.millis() + 10_000, draining.getDeadlineMillis());
      assertTrue(draining.getReason().contains("rebalance to edge-b"), draining.getReason());
      assertFalse(edge.usable(draining), "no new sessions on a draining lease");
      assertEquals(4 * GIB, placer.snapshot().gpus().get(0).memoryAllocatedBytes());
      assertEquals(LeaseState.RELEASED,
          edge.release(draining, t).get(20, TimeUnit.SECONDS).getState());

      // Revoke, the edge does nothing: REVOKED at the drain deadline, though the lease deadline
      // (2 s) is the earlier one: draining replaces it.
      Lease ignored = edge.request(slice(6, 20), t).get(20, TimeUnit.SECONDS);
      admin.revoke(ignored.getLeaseId(), "node maintenance", t);
      Await.until(t, "draining", () -> lastSeen.get(ignored.getLeaseId()) == LeaseState.DRAINING);
      clock.advance(Duration.ofSeconds(5));
      turns.awaitTurns(2, "the leader has run turns 5 s into the drain");
      assertEquals(LeaseState.DRAINING, lastSeen.get(ignored.getLeaseId()));
      clock.advance(Duration.ofSeconds(5));
      Await.until(t, "revoked", () -> lastSeen.get(ignored.getLeaseId()) == LeaseState.REVOKED);
      assertEquals(0, placer.snapshot().gpus().get(0).memoryAllocatedBytes());
      assertTrue(edge.liveLeases().isEmpty());

      LeaseLogChecker.Report report =
          new LeaseLogChecker(bootstrap, CenterInventory.of(center)).check(t);
      assertTrue(report.ok(), report.violations().toString());
      assertEquals(3, report.grants());
    }
  }
}
