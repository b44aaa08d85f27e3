package io.spillway.lease;

import static io.spillway.lease.LeaseTestSupport.GIB;
import static io.spillway.lease.LeaseTestSupport.node;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseGrantSlice;
import io.spillway.protocol.v1.LeaseState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The checker itself, on records built by hand: it must see the violations it exists to see. */
class LeaseLogCheckerTest {

  private static final CenterInventory INVENTORY =
      CenterInventory.of(List.of(node("c1", 1, 16, "A100")));

  private static Lease lease(String id, long epoch, LeaseState state, long memGib, int compute) {
    Lease.Builder b = Lease.newBuilder().setVersion(1).setLeaseId(id).setEdge("e").setEpoch(epoch)
        .setState(state).setRequestId("r-" + id).setGrantedBy("leader");
    if (state == LeaseState.GRANTED || state == LeaseState.DRAINING) {
      b.addSlices(LeaseGrantSlice.newBuilder().setNodeId("c1").setGpuUuid("GPU-c1-0")
          .setMemoryBytes(memGib * GIB).setComputePercent(compute));
    }
    return b.build();
  }

  private static LeaseLogChecker.Report check(Lease... records) {
    List<Map.Entry<Long, Lease>> log = new ArrayList<>();
    for (int i = 0; i < records.length; i++) {
      log.add(Map.entry((long) i, records[i]));
    }
    return LeaseLogChecker.check(INVENTORY, log);
  }

  @Test
  void aCleanHistoryHasNoViolations() {
    LeaseLogChecker.Report r = check(
        lease("a", 1, LeaseState.GRANTED, 10, 50),
        lease("a", 2, LeaseState.RELEASED, 10, 50),
        lease("b", 1, LeaseState.GRANTED, 15, 100));
    assertTrue(r.ok(), r.violations().toString());
    assertEquals(3, r.recordsChecked());
    assertEquals(2, r.grants());
  }

  @Test
  void overgrantAtOneOffsetIsReportedThere() {
    LeaseLogChecker.Report r = check(
        lease("a", 1, LeaseState.GRANTED, 10, 50),
        lease("b", 1, LeaseState.GRANTED, 6, 10), // 16 GiB > 15 GiB usable
        lease("a", 2, LeaseState.RELEASED, 10, 50));
    assertEquals(1, r.violations().size(), r.violations().toString());
    assertEquals(1, r.violations().get(0).offset());
    assertTrue(r.violations().get(0).message().contains("limit"), r.violations().toString());
  }

  @Test
  void computeOverHundredSameEpochTwiceAndResurrectionAreReported() {
    LeaseLogChecker.Report r = check(
        lease("a", 1, LeaseState.GRANTED, 1, 60),
        lease("b", 1, LeaseState.GRANTED, 1, 60),
        lease("b", 1, LeaseState.GRANTED, 1, 60),
        lease("c", 1, LeaseState.REFUSED, 0, 0),
        lease("c", 2, LeaseState.GRANTED, 1, 1));
    List<Long> offsets = r.violations().stream().map(LeaseLogChecker.Violation::offset).toList();
    assertTrue(offsets.contains(1L), "compute 120% at offset 1: " + r.violations());
    assertTrue(r.violations().stream().anyMatch(v -> v.offset() == 2
        && v.message().contains("epoch 1 written twice")), r.violations().toString());
    assertTrue(r.violations().stream().anyMatch(v -> v.offset() == 4
        && v.message().contains("after terminal state REFUSED")), r.violations().toString());
  }
}
