package io.spillway.pool.placement;

import static io.spillway.pool.placement.Fleet.GIB;
import static io.spillway.pool.placement.Fleet.assertInvariant;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.pool.model.SessionId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SlicePlacerTest {

  private int next;

  private SessionId sid() {
    return SessionId.of("s" + (next++));
  }

  private static SliceRequest.Builder ask(long gib, int compute) {
    return SliceRequest.builder("acme").memoryBytes(gib * GIB).computePercent(compute);
  }

  private static Placement.Placed placed(Placement p) {
    return assertInstanceOf(Placement.Placed.class, p, () -> p.toString());
  }

  private static Placement.Rejected rejected(Placement p) {
    return assertInstanceOf(Placement.Rejected.class, p, () -> p.toString());
  }

  private static String at(Placement.Placed p) {
    return p.slices().stream().map(s -> s.nodeId() + "/" + s.gpuIndex()).collect(Collectors.joining(","));
  }

  @Test
  void aCardAtItsNodesSessionCapTakesNoMoreAndTheNextCardDoes() {
    Fleet fleet = new Fleet();
    List<io.spillway.pool.model.GpuSpec> gpus = List.of(
        new io.spillway.pool.model.GpuSpec(0, "n-gpu0", "V100", 32 * GIB, "7.0", 0, 2),
        new io.spillway.pool.model.GpuSpec(1, "n-gpu1", "V100", 32 * GIB, "7.0", 0, 2));
    fleet.registry.register(new io.spillway.pool.registry.NodeRegistration("n", "n.local:7000", "edge-1", gpus));
    List<String> cards = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      cards.add(at(placed(fleet.placer.place(sid(), SliceRequest.builder("acme").memoryBytes(1).build()))));
    }
    // Packing alone would put all four tiny slices on one card; the cap of 2 sends two to the other.
    assertEquals(2, cards.stream().filter("n/0"::equals).count(), cards.toString());
    assertEquals(2, cards.stream().filter("n/1"::equals).count(), cards.toString());
    Placement.Rejected full = rejected(fleet.placer.place(sid(), SliceRequest.builder("acme").memoryBytes(1).build()));
    assertEquals(Placement.Reason.NO_CAPACITY, full.reason());
    assertTrue(full.message().contains("2 of them at their node's max-sessions-per-card"), full.message());
  }

  @Test
  void fractionalPackingFillsEveryCardAndNeverOvercommits() {
    Fleet fleet = new Fleet().node("node-a", 4, "V100", 32 * GIB, 0).node("node-b", 4, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    long[] sizes = {16, 12, 8, 4, 12, 16, 4, 8, 4};
    long placedBytes = 0;
    int rejections = 0;
    for (int i = 0; i < 200; i++) {
      long want = sizes[i % sizes.length] * GIB;
      PoolSnapshot before = placer.snapshot();
      boolean someCardFits = before.gpus().stream().anyMatch(g -> g.memoryFreeBytes() >= want);
      Placement p = placer.place(sid(), SliceRequest.builder("t" + (i % 5)).memoryBytes(want).computePercent(5).build());
      assertEquals(someCardFits, p instanceof Placement.Placed, "step " + i + " asked " + want / GIB + " GiB: " + p);
      if (p instanceof Placement.Placed ok) {
        placedBytes += ok.slices().get(0).memoryBytes();
        assertEquals(want, ok.slices().get(0).memoryBytes());
      } else {
        rejections++;
        assertEquals(Placement.Reason.NO_CAPACITY, rejected(p).reason());
      }
      PoolSnapshot after = assertInvariant(placer.snapshot());
      assertEquals(placedBytes, after.gpus().stream().mapToLong(GpuView::memoryAllocatedBytes).sum());
    }
    // Sizes are multiples of 4 GiB and 4 GiB is asked in every round, so the pool ends exactly full.
    PoolSnapshot end = placer.snapshot();
    assertEquals(8 * 32 * GIB, placedBytes);
    assertTrue(end.gpus().stream().allMatch(g -> g.memoryFreeBytes() == 0), end.gpus().toString());
    assertEquals(1.0, end.busyCardMemoryUtilization(), 1e-9);
    assertTrue(rejections > 100, "rejections " + rejections);
    Placement.Rejected last = rejected(placer.place(sid(), ask(4, 5).build()));
    assertTrue(last.message().startsWith("no GPU fits 4.0 GiB / 5% compute of any model: largest free slice is 0 B / "),
        last.message());
    assertTrue(last.message().endsWith("; 8 GPUs match the labels"), last.message());
  }

  @Test
  void selectsByModelIgnoringCase() {
    Fleet fleet = new Fleet().node("node-p", 2, "P40", 24 * GIB, 0).node("node-v", 2, "V100", 16 * GIB, 0);
    SlicePlacer placer = fleet.placer;

    assertEquals("V100", placed(placer.place(sid(), ask(4, 10).models("v100").build())).slices().get(0).model());
    assertEquals("P40", placed(placer.place(sid(), ask(4, 10).excludeModels("v100").build())).slices().get(0).model());
    assertEquals("V100", placed(placer.place(sid(), ask(4, 10).models("V100", "p40").excludeModels("P40").build()))
        .slices().get(0).model());
    // Without labels BINPACK picks the fullest card that fits: a V100 now has 8 GiB used (8 free).
    assertEquals("node-v/0", at(placed(placer.place(sid(), ask(8, 10).build()))));

    Placement.Rejected none = rejected(placer.place(sid(), ask(4, 10).models("A100").build()));
    assertEquals(Placement.Reason.NO_MATCHING_GPU, none.reason());
    assertEquals("no GPU of model in [A100] is up: the pool has [P40 x2, V100 x2] up", none.message());

    Placement.Rejected full = rejected(placer.place(sid(), ask(20, 10).models("V100").build()));
    assertEquals(Placement.Reason.NO_CAPACITY, full.reason());
    assertEquals("no GPU fits 20.0 GiB / 10% compute of model in [V100]: largest free slice is "
        + "16.0 GiB / 100% on node-v gpu 1; 2 GPUs match the labels", full.message());
  }

  @Test
  void multiGpuPrefersOneNodeThenSpansNodes() {
    Fleet fleet = new Fleet().node("node-a", 4, "V100", 32 * GIB, 0).node("node-b", 4, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    // Use two cards of node-a so that node-a can no longer take a 4-GPU session of 24 GiB each.
    placed(placer.place(sid(), ask(16, 10).build()));
    placed(placer.place(sid(), ask(16, 10).strategy(PlacementStrategy.SPREAD).build()));
    PoolSnapshot s = placer.snapshot();
    assertEquals(16 * GIB, s.gpus().get(0).memoryAllocatedBytes());

    Placement.Placed four = placed(placer.place(sid(), ask(24, 50).gpus(4).build()));
    Set<String> nodes = four.slices().stream().map(Slice::nodeId).collect(Collectors.toSet());
    assertEquals(1, nodes.size(), at(four));
    assertEquals(4, four.slices().stream().map(Slice::gpuUuid).distinct().count(), at(four));

    // Now no node has 4 cards with 24 GiB free: a sameNode request spans nodes on distinct cards.
    Placement.Placed spanning = placed(placer.place(sid(), ask(8, 10).gpus(6).build()));
    assertEquals(6, spanning.slices().stream().map(Slice::gpuUuid).distinct().count(), at(spanning));
    assertEquals(2, spanning.slices().stream().map(Slice::nodeId).distinct().count(), at(spanning));
    assertInvariant(placer.snapshot());

    Placement.Rejected tooMany = rejected(placer.place(sid(), ask(1, 1).gpus(9).build()));
    assertEquals(Placement.Reason.NO_CAPACITY, tooMany.reason());
    assertTrue(tooMany.message().startsWith("need 9 GPUs with 1.0 GiB / 1% compute each of any model, only 4 fit: "),
        tooMany.message());
  }

  @Test
  void sameNodeChoosesTheNodeThatPacksBest() {
    Fleet fleet = new Fleet().node("node-a", 2, "V100", 32 * GIB, 0).node("node-b", 2, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    // Build node-a = {2 GiB free, 24 GiB free}, node-b = {32, 32}.
    SessionId a0 = sid();
    placed(placer.place(a0, ask(8, 10).build()));                               // node-a/0
    placed(placer.place(sid(), ask(8, 10).strategy(PlacementStrategy.SPREAD).build())); // node-a/1
    placer.release(a0);                                                         // node-a/0 empty again
    placed(placer.place(sid(), ask(30, 10).strategy(PlacementStrategy.SPREAD).build())); // node-a/0 (tie, stable)
    // node-a: 2 GiB and 24 GiB free; node-b: 32 and 32. A pair of 2 GiB slices fits on both nodes;
    // BINPACK takes node-a (0 + 22 GiB left) over node-b (30 + 30).
    Placement.Placed pair = placed(placer.place(sid(), ask(2, 10).gpus(2).build()));
    assertEquals("node-a/0,node-a/1", at(pair));
    // SPREAD takes node-b, the node with most memory free.
    Placement.Placed spread = placed(placer.place(sid(), ask(2, 10).gpus(2).strategy(PlacementStrategy.SPREAD).build()));
    assertEquals(Set.of("node-b"), spread.slices().stream().map(Slice::nodeId).collect(Collectors.toSet()));
    // Without sameNode BINPACK takes the two fullest cards wherever they are: node-a/1 (22 GiB free) then node-b.
    Placement.Placed loose = placed(placer.place(sid(), ask(20, 10).gpus(2).sameNode(false).build()));
    assertEquals("node-a/1", at(loose).split(",")[0]);
    assertEquals("node-b", loose.slices().get(1).nodeId());
  }

  @Test
  void binpackFillsTheFullestCardAndSpreadTheEmptiest() {
    Fleet fleet = new Fleet().node("node-a", 4, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    assertEquals("node-a/0", at(placed(placer.place(sid(), ask(24, 10).build()))));
    assertEquals("node-a/1", at(placed(placer.place(sid(), ask(8, 10).strategy(PlacementStrategy.SPREAD).build()))));
    // free: g0 8, g1 24, g2 32, g3 32
    assertEquals("node-a/0", at(placed(placer.place(sid(), ask(8, 10).build()))));   // leaves 0
    assertEquals("node-a/1", at(placed(placer.place(sid(), ask(4, 10).build()))));   // g0 full; g1 leaves 20
    assertEquals("node-a/2", at(placed(placer.place(sid(), ask(4, 10).strategy(PlacementStrategy.SPREAD).build()))));
    assertEquals("node-a/3", at(placed(placer.place(sid(), ask(4, 10).strategy(PlacementStrategy.SPREAD).build()))));
  }

  @Test
  void tiesOnMemoryAreBrokenByCompute() {
    Fleet fleet = new Fleet().node("node-a", 2, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    assertEquals("node-a/0", at(placed(placer.place(sid(), ask(8, 50).build()))));
    assertEquals("node-a/1", at(placed(placer.place(sid(), ask(8, 10).strategy(PlacementStrategy.SPREAD).build()))));
    // Both cards have 24 GiB free; g0 uses 50% compute, g1 10%.
    assertEquals("node-a/1", at(placed(placer.place(sid(), ask(4, 10).strategy(PlacementStrategy.SPREAD).build()))));
    // Now g1 has 20 GiB free, so BINPACK prefers g1 on memory; equalize first with a 4 GiB on g0.
    assertEquals("node-a/1", at(placed(placer.place(sid(), ask(4, 10).build()))));
    // g0: 24 free, 50%; g1: 16 free, 30%. Put 8 GiB on g0 -> both 16 free; g0 now 60%, g1 30%.
    assertEquals("node-a/0", at(placed(placer.place(sid(), ask(8, 10).models("V100").strategy(PlacementStrategy.SPREAD).build()))));
    assertEquals("node-a/0", at(placed(placer.place(sid(), ask(4, 10).build()))));   // more compute used wins
  }

  @Test
  void percentOfCardIsTakenOfUsableMemory() {
    Fleet fleet = new Fleet().node("node-a", 1, "V100", 32 * GIB, 2 * GIB).node("node-b", 1, "P40", 16 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    SliceRequest half = SliceRequest.builder("acme").memoryPercent(50).computePercent(10).models("v100").build();
    assertEquals(15 * GIB, placed(placer.place(sid(), half)).slices().get(0).memoryBytes());
    assertEquals(15 * GIB, placed(placer.place(sid(), half)).slices().get(0).memoryBytes());
    Placement.Rejected third = rejected(placer.place(sid(), half));
    assertEquals("no GPU fits 50% of card memory / 10% compute of model in [v100]: largest free slice is "
        + "0 B / 80% on node-a gpu 0; 1 GPU matches the labels", third.message());
    SliceRequest quarterP40 = SliceRequest.builder("acme").memoryPercent(25).models("P40").build();
    assertEquals(4 * GIB, placed(placer.place(sid(), quarterP40)).slices().get(0).memoryBytes());
  }

  @Test
  void computeAloneCanFillACard() {
    Fleet fleet = new Fleet().node("node-a", 1, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    for (int i = 0; i < 4; i++) {
      placed(placer.place(sid(), ask(1, 25).build()));
    }
    GpuView card = placer.snapshot().gpus().get(0);
    assertEquals(100, card.computeAllocatedPercent());
    assertEquals(28 * GIB, card.memoryFreeBytes());
    Placement.Rejected fifth = rejected(placer.place(sid(), ask(1, 1).build()));
    assertEquals("no GPU fits 1.0 GiB / 1% compute of any model: largest free slice is 28.0 GiB / 0% "
        + "on node-a gpu 0; 1 GPU matches the labels", fifth.message());
  }

  @Test
  void quotasLimitSessionsAndMemoryPerTenant() {
    TenantQuotas quotas = TenantQuotas.of(new TenantQuota(1, 0), Map.of(
        "acme", new TenantQuota(2, 0),
        "gamma", new TenantQuota(0, 20 * GIB),
        "free", TenantQuota.UNLIMITED));
    Fleet fleet = new Fleet(quotas).node("node-a", 4, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;

    SessionId first = sid();
    placed(placer.place(first, ask(1, 1).build()));
    placed(placer.place(sid(), ask(1, 1).build()));
    Placement.Rejected third = rejected(placer.place(sid(), ask(1, 1).build()));
    assertEquals(Placement.Reason.QUOTA_EXCEEDED, third.reason());
    assertEquals("tenant acme is at its quota of 2 sessions", third.message());
    placer.release(first);
    placed(placer.place(sid(), ask(1, 1).build()));

    // Unknown tenants get the default of one session.
    placed(placer.place(sid(), SliceRequest.builder("beta").memoryBytes(GIB).computePercent(1).build()));
    assertEquals("tenant beta is at its quota of 1 session",
        rejected(placer.place(sid(), SliceRequest.builder("beta").memoryBytes(GIB).computePercent(1).build())).message());

    SliceRequest.Builder gamma8 = SliceRequest.builder("gamma").memoryBytes(8 * GIB).computePercent(1);
    placed(placer.place(sid(), gamma8.build()));
    placed(placer.place(sid(), gamma8.build()));
    Placement.Rejected over = rejected(placer.place(sid(), gamma8.build()));
    assertEquals(Placement.Reason.QUOTA_EXCEEDED, over.reason());
    assertEquals("tenant gamma is at its memory quota of 20.0 GiB: it holds 16.0 GiB and asked for 8.0 GiB more",
        over.message());
    placed(placer.place(sid(), SliceRequest.builder("gamma").memoryBytes(4 * GIB).computePercent(1).build()));
    // A rejected request reserved nothing.
    assertEquals(20 * GIB, placer.snapshot().sessions().stream()
        .filter(s -> s.tenant().equals("gamma")).mapToLong(SessionView::memoryBytes).sum());

    for (int i = 0; i < 10; i++) {
      placed(placer.place(sid(), SliceRequest.builder("free").memoryBytes(GIB).computePercent(1).build()));
    }
    PlacementException thrown = assertThrows(PlacementException.class,
        () -> placer.place(sid(), SliceRequest.builder("beta").memoryBytes(GIB).build()).orElseThrow());
    assertEquals(Placement.Reason.QUOTA_EXCEEDED, thrown.reason());
  }

  @Test
  void releaseReturnsExactlyTheCapacity() {
    Fleet fleet = new Fleet().node("node-a", 2, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    List<SessionId> ids = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      SessionId id = sid();
      placed(placer.place(id, ask(8, 10).build()));
      ids.add(id);
    }
    assertEquals(Placement.Reason.NO_CAPACITY, rejected(placer.place(sid(), ask(8, 10).build())).reason());
    SessionId victim = ids.get(5);
    Slice freed = placer.session(victim).orElseThrow().slices().get(0);
    SessionView released = placer.release(victim).orElseThrow();
    assertEquals(List.of(freed), released.slices());
    GpuView card = placer.snapshot().gpus().get(freed.gpuIndex());
    assertEquals(8 * GIB, card.memoryFreeBytes());
    assertEquals(70, card.computeFreePercent());
    assertEquals(3, card.sessionCount());
    assertTrue(placer.release(victim).isEmpty(), "second release is a no-op");
    assertTrue(placer.release(SessionId.of("never")).isEmpty());
    Placement.Placed again = placed(placer.place(sid(), ask(8, 10).build()));
    assertEquals(freed.gpuUuid(), again.slices().get(0).gpuUuid());
    assertEquals(Placement.Reason.DUPLICATE_SESSION, rejected(placer.place(ids.get(0), ask(1, 1).build())).reason());
    assertInvariant(placer.snapshot());
  }

  @Test
  void rejectedMultiGpuPlacementReservesNothing() {
    Fleet fleet = new Fleet().node("node-a", 2, "V100", 32 * GIB, 0);
    SlicePlacer placer = fleet.placer;
    placed(placer.place(sid(), ask(30, 10).build()));
    rejected(placer.place(sid(), ask(8, 10).gpus(2).build()));
    PoolSnapshot s = placer.snapshot();
    assertEquals(30 * GIB, s.gpus().stream().mapToLong(GpuView::memoryAllocatedBytes).sum());
    assertEquals(1, s.sessions().size());
  }

  @Test
  void requestValidationNamesTheField() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SliceRequest.builder("acme").memoryBytes(GIB).computePercent(101).build());
    assertEquals("computePercent must be in 0..100, got 101", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> SliceRequest.builder("acme").memoryPercent(0));
    assertEquals("memory percent must be in 1..100, got 0", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> SliceRequest.builder("acme").gpus(2).build());
    assertTrue(e.getMessage().contains("set memoryBytes or memoryPercent"), e.getMessage());
    assertEquals(List.of("V100"), SliceRequest.builder("acme").memoryBytes(1).models("V100", "v100").build().models());
  }
}
