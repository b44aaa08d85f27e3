package io.spillway.lease;

import static io.spillway.lease.LeaseTestSupport.GIB;
import static io.spillway.lease.LeaseTestSupport.node;
import static io.spillway.lease.LeaseTestSupport.slice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.registry.Node;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.testkit.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Grant, renew and release end to end; two edges racing for the last capacity. */
class LeaseGrantTest {

  private static final TestBroker kafka = TestBroker.create();
  private static String bootstrap;

  @BeforeAll
  static void startKafka() {
    bootstrap = kafka.start();
    LeaseTopics.ensure(bootstrap, (short) 1);
    LeaseTopics.ensure(bootstrap, (short) 1); // idempotent
  }

  @AfterAll
  static void stopKafka() {
    kafka.stop();
  }

  @Test
  void grantRenewReleaseEndToEndThenRaceForTheLastCapacity() throws Exception {
    List<Node> center = List.of(node("c1", 2, 16, "A100"));
    CenterInventory inventory = CenterInventory.of(center);
    SlicePlacer placer = LeaseTestSupport.placer(center);
    LeaseConfig config = LeaseTestSupport.fastConfig();
    Duration t = Duration.ofSeconds(15);
    try (LeaseManager leader = new LeaseManager(bootstrap, "center-1", placer, inventory, config,
            java.time.Clock.systemUTC());
        LeaseClient edgeA = new LeaseClient(bootstrap, "edge-a", config, java.time.Clock.systemUTC());
        LeaseClient edgeB = new LeaseClient(bootstrap, "edge-b", config, java.time.Clock.systemUTC())) {
      leader.start();
      edgeA.start(t);
      edgeB.start(t);
      List<Lease> seenByA = new CopyOnWriteArrayList<>();
      edgeA.addListener((before, now) -> seenByA.add(now));
      Await.until(t, "center-1 leads", leader::isLeader);

      // Grant: 10 GiB / 40% on one of two 15 GiB (16 less 1 reserve) cards.
      long sentAt = System.currentTimeMillis();
      Lease lease = edgeA.request(slice(10, 40), t).get(20, TimeUnit.SECONDS);
      assertEquals(LeaseState.GRANTED, lease.getState(), lease.getReason());
      assertEquals("edge-a", lease.getEdge());
      assertEquals(1, lease.getEpoch());
      assertEquals("center-1", lease.getGrantedBy());
      assertEquals(1, lease.getSlicesCount());
      assertEquals(10 * GIB, lease.getSlices(0).getMemoryBytes());
      assertEquals(40, lease.getSlices(0).getComputePercent());
      assertEquals("c1:7000", lease.getSlices(0).getNodeAddress());
      assertTrue(lease.getDeadlineMillis() >= sentAt + config.leaseDuration().toMillis() - 1000,
          "deadline " + lease.getDeadlineMillis() + " is a lease duration after the request");
      assertEquals(Instant.ofEpochMilli(lease.getDeadlineMillis()).minus(config.skewMargin()),
          edgeA.usableUntil(lease));
      assertTrue(edgeA.usable(lease));
      assertEquals(List.of(lease.getLeaseId()), List.copyOf(edgeA.liveLeases().keySet()));
      assertTrue(edgeB.liveLeases().isEmpty(), "edge-b sees only its own leases");

      // Capacity is reduced on the center placer (the lease is a session there).
      String uuid = lease.getSlices(0).getGpuUuid();
      GpuView card = card(placer, uuid);
      assertEquals(10 * GIB, card.memoryAllocatedBytes());
      assertEquals(40, card.computeAllocatedPercent());
      assertTrue(placer.session(SessionId.of(lease.getLeaseId())).isPresent());

      // Renew: same lease, next epoch, deadline not earlier.
      Lease renewed = edgeA.renew(lease, t).get(20, TimeUnit.SECONDS);
      assertEquals(LeaseState.GRANTED, renewed.getState());
      assertEquals(2, renewed.getEpoch());
      assertTrue(renewed.getDeadlineMillis() >= lease.getDeadlineMillis());
      // A renewal at a stale epoch is ignored: the next change is the release below, not a renewal.
      CompletableFuture<Lease> stale = edgeA.renew(lease, Duration.ofSeconds(2));
      assertEquals(2, stale.get(5, TimeUnit.SECONDS).getEpoch(), "known newer record answers at once");

      // Release: capacity comes back.
      Lease released = edgeA.release(renewed, t).get(20, TimeUnit.SECONDS);
      assertEquals(LeaseState.RELEASED, released.getState());
      assertEquals(3, released.getEpoch());
      assertEquals(0, card(placer, uuid).memoryAllocatedBytes());
      assertTrue(edgeA.liveLeases().isEmpty());
      Await.until(t, "listener saw grant, renewal, release", () -> seenByA.size() == 3);
      assertEquals(List.of(LeaseState.GRANTED, LeaseState.GRANTED, LeaseState.RELEASED),
          seenByA.stream().map(Lease::getState).toList());

      // Race: fill one card, leaving one empty card (15 GiB / 100%) in the pool; two edges ask for
      // 12 GiB / 60% at once: whichever the leader reads first fits, the other cannot.
      Lease fillA = edgeA.request(slice(15, 50), t).get(20, TimeUnit.SECONDS);
      assertEquals(LeaseState.GRANTED, fillA.getState(), fillA.getReason());
      List<CompletableFuture<Lease>> racers = new ArrayList<>();
      racers.add(edgeA.request(slice(12, 60), t));
      racers.add(edgeB.request(slice(12, 60), t));
      List<Lease> answers = new ArrayList<>();
      for (CompletableFuture<Lease> f : racers) {
        answers.add(f.get(20, TimeUnit.SECONDS));
      }
      long granted = answers.stream().filter(l -> l.getState() == LeaseState.GRANTED).count();
      long refused = answers.stream().filter(l -> l.getState() == LeaseState.REFUSED).count();
      assertEquals(1, granted, "exactly one racer granted: " + answers);
      assertEquals(1, refused, "exactly one racer refused: " + answers);
      Lease loser = answers.stream().filter(l -> l.getState() == LeaseState.REFUSED).findFirst()
          .orElseThrow();
      assertTrue(loser.getReason().contains("asked for 1 GPU(s) with " + 12 * GIB + " bytes"),
          loser.getReason());
      assertTrue(loser.getReason().contains("largest free slice is 3.0 GiB"), loser.getReason());
      assertEquals(0, loser.getSlicesCount());

      LeaseLogChecker.Report report = new LeaseLogChecker(bootstrap, inventory).check(t);
      assertTrue(report.ok(), report.violations().toString());
      assertEquals(3, report.grants());
      assertEquals(4, report.leases());
    }
  }

  private static GpuView card(SlicePlacer placer, String uuid) {
    return placer.snapshot().gpus().stream().filter(g -> g.uuid().equals(uuid)).findFirst()
        .orElseThrow();
  }
}
