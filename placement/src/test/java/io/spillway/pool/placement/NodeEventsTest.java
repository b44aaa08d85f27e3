package io.spillway.pool.placement;

import static io.spillway.pool.placement.Fleet.GIB;
import static io.spillway.pool.placement.Fleet.assertInvariant;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.pool.model.SessionId;
import io.spillway.pool.registry.HeartbeatResult;
import io.spillway.pool.registry.Registration;
import io.spillway.pool.registry.NodeState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The placer following the registry: nodes going down, rejoining, and being replaced. */
class NodeEventsTest {

  private record Lost(String nodeId, Set<SessionId> sessions, String reason) {}

  private final Fleet fleet = new Fleet()
      .node("node-a", 1, "V100", 32 * GIB, 0)
      .node("node-b", 1, "V100", 32 * GIB, 0);
  private final List<Lost> lost = new ArrayList<>();

  {
    fleet.placer.addListener((node, sessions, reason) -> lost.add(new Lost(node, sessions, reason)));
  }

  private Placement.Placed place(String id, SliceRequest request) {
    return assertInstanceOf(Placement.Placed.class, fleet.placer.place(SessionId.of(id), request));
  }

  private static SliceRequest.Builder ask(long gib) {
    return SliceRequest.builder("acme").memoryBytes(gib * GIB).computePercent(10);
  }

  @Test
  void nodeDownDropsItsSlicesAndReportsItsSessions() {
    place("s1", ask(8).build());                                      // node-a (tie, stable order)
    place("s2", ask(8).gpus(2).build());                              // node-a and node-b
    place("s3", ask(20).strategy(PlacementStrategy.SPREAD).build());  // node-b has 24 free, node-a 16
    SlicePlacer placer = fleet.placer;
    assertEquals(Set.of(SessionId.of("s1"), SessionId.of("s2")), placer.sessionsOn("node-a"));
    assertEquals(Set.of(SessionId.of("s2"), SessionId.of("s3")), placer.sessionsOn("node-b"));

    fleet.clock.advance(Duration.ofSeconds(6));
    fleet.registry.heartbeat("node-b");
    fleet.clock.advance(Duration.ofSeconds(5));
    assertEquals(List.of("node-a"), fleet.registry.checkLiveness().stream().map(n -> n.id()).toList());

    assertEquals(1, lost.size());
    assertEquals("node-a", lost.get(0).nodeId());
    assertEquals(Set.of(SessionId.of("s1"), SessionId.of("s2")), lost.get(0).sessions());
    assertEquals("node node-a sent no heartbeat for 11s (timeout 10s)", lost.get(0).reason());
    assertEquals(Set.of(), placer.sessionsOn("node-a"));

    PoolSnapshot s = assertInvariant(placer.snapshot());
    GpuView a = s.gpus().get(0);
    assertEquals(NodeState.DOWN, a.nodeState());
    assertEquals(0, a.memoryAllocatedBytes());
    assertEquals(0, a.sessionCount());
    SessionView s2 = placer.session(SessionId.of("s2")).orElseThrow();
    assertEquals(1, s2.lostSlices());
    assertEquals("node-b", s2.slices().get(0).nodeId());

    // node-a takes nothing while down, even though its card is empty.
    Placement.Rejected r = assertInstanceOf(Placement.Rejected.class,
        placer.place(SessionId.of("s4"), ask(8).build()));
    assertEquals("no GPU fits 8.0 GiB / 10% compute of any model: largest free slice is 4.0 GiB / 80% "
        + "on node-b gpu 0; 1 GPU matches the labels", r.message());

    // The gateway releases the broken session; its surviving slice on node-b comes back.
    placer.release(SessionId.of("s2"));
    assertEquals(12 * GIB, placer.snapshot().gpus().get(1).memoryFreeBytes());
  }

  @Test
  void aRejoiningNodeStartsEmptyAndTakesSlicesAgain() {
    place("s1", ask(30).build());
    fleet.registry.markDown("node-a", "connection to node-a reset");
    assertEquals("connection to node-a reset", lost.get(0).reason());
    HeartbeatResult beat = fleet.registry.heartbeat("node-a");
    HeartbeatResult.RegisterFirst again = assertInstanceOf(HeartbeatResult.RegisterFirst.class, beat);
    assertTrue(again.message().startsWith("node node-a was marked down"), again.message());

    Registration r = fleet.registry.register(Fleet.registration("node-a", 1, "V100", 32 * GIB, 0));
    assertEquals(Registration.Outcome.REJOINED, r.outcome());
    assertEquals(2, r.node().generation());
    GpuView a = fleet.placer.snapshot().gpus().get(0);
    assertEquals(NodeState.UP, a.nodeState());
    assertEquals(32 * GIB, a.memoryFreeBytes());
    // The old session is still known (waiting for release) but holds nothing on the new generation.
    assertEquals(Set.of(), fleet.placer.sessionsOn("node-a"));
    assertEquals(List.of(), fleet.placer.session(SessionId.of("s1")).orElseThrow().slices());
    assertEquals("node-a", place("s2", ask(30).build()).slices().get(0).nodeId());
    fleet.placer.release(SessionId.of("s1"));
    assertEquals(2 * GIB, fleet.placer.snapshot().gpus().get(0).memoryFreeBytes(), "release of s1 freed nothing new");
    assertEquals(1, lost.size());
  }

  @Test
  void aRegistrationWithOtherGpusReplacesTheOldOne() {
    place("s1", ask(8).build());
    Registration r = fleet.registry.register(Fleet.registration("node-a", 2, "V100", 32 * GIB, 0));
    assertEquals(Registration.Outcome.REPLACED, r.outcome());
    assertEquals(1, lost.size());
    assertEquals(Set.of(SessionId.of("s1")), lost.get(0).sessions());
    assertEquals("node node-a registered again with a different GPU set (1 -> 2 GPUs); "
        + "its earlier registration is replaced", lost.get(0).reason());
    PoolSnapshot s = fleet.placer.snapshot();
    assertEquals(3, s.gpus().size());
    assertEquals(0, s.gpus().stream().mapToLong(GpuView::memoryAllocatedBytes).sum());

    // Same registration again: a refresh, no events, slices kept.
    place("s2", ask(8).build());
    assertEquals(Registration.Outcome.REFRESHED,
        fleet.registry.register(Fleet.registration("node-a", 2, "V100", 32 * GIB, 0)).outcome());
    assertEquals(1, lost.size());
    assertEquals(8 * GIB, fleet.placer.snapshot().gpus().stream().mapToLong(GpuView::memoryAllocatedBytes).sum());
  }

  @Test
  void tenantMemoryQuotaCountsOnlySlicesStillHeld() {
    Fleet quota = new Fleet(TenantQuotas.of(new TenantQuota(0, 16 * GIB), java.util.Map.of()))
        .node("node-a", 1, "V100", 32 * GIB, 0).node("node-b", 1, "V100", 32 * GIB, 0);
    assertInstanceOf(Placement.Placed.class,
        quota.placer.place(SessionId.of("s1"), ask(16).build()));
    assertInstanceOf(Placement.Rejected.class, quota.placer.place(SessionId.of("s2"), ask(16).build()));
    quota.registry.markDown("node-a", "gone");
    // s1's 16 GiB went with node-a; the tenant may place 16 GiB again even before releasing s1.
    Placement.Placed p = assertInstanceOf(Placement.Placed.class,
        quota.placer.place(SessionId.of("s2"), ask(16).build()));
    assertEquals("node-b", p.slices().get(0).nodeId());
  }
}
