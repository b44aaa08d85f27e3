package io.spillway.lease;

import static io.spillway.lease.LeaseTestSupport.GIB;
import static io.spillway.lease.LeaseTestSupport.node;
import static io.spillway.lease.LeaseTestSupport.slice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.lease.internal.LeaseRecords;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.pool.registry.Node;
import io.spillway.pool.time.ManualClock;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseAdminCommand;
import io.spillway.protocol.v1.LeaseControl;
import io.spillway.protocol.v1.LeaseRelease;
import io.spillway.protocol.v1.LeaseRenewal;
import io.spillway.protocol.v1.LeaseRequest;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.protocol.v1.RevokeLease;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The lease leader's rules, fed directly: no broker, time from a manual clock. */
class LeaseStateMachineTest {

  /** One card of 16 GiB, 1 GiB reserved: 15 GiB and 100% compute to lend. */
  private static final List<Node> CENTER = List.of(node("c1", 1, 16, "A100"));
  private static final LeaseConfig CONFIG = LeaseConfig.defaults()
      .withLeaseDuration(Duration.ofSeconds(30)).withDrainDuration(Duration.ofSeconds(10));

  private final ManualClock clock = ManualClock.atEpochOf2025();
  private final SlicePlacer placer = LeaseTestSupport.placer(CENTER);
  private final LeaseStateMachine machine = new LeaseStateMachine("center-1", placer,
      CenterInventory.of(CENTER), CONFIG);
  private int requests;

  private List<Lease> ask(String edge, LeaseSlice slice) {
    return machine.onRequest(request(edge, slice), clock.millis());
  }

  private LeaseRequest request(String edge, LeaseSlice slice) {
    return LeaseRequest.newBuilder().setVersion(LeaseRecords.VERSION).setRequestId("r" + (++requests))
        .setEdge(edge).setSlice(slice).build();
  }

  private Lease grant(String edge, int memGib, int compute) {
    List<Lease> out = ask(edge, slice(memGib, compute));
    assertEquals(1, out.size());
    assertEquals(LeaseState.GRANTED, out.get(0).getState(), out.get(0).getReason());
    return out.get(0);
  }

  private static LeaseControl renewal(Lease l, long epoch) {
    return LeaseControl.newBuilder().setRenewal(LeaseRenewal.newBuilder().setVersion(LeaseRecords.VERSION)
        .setLeaseId(l.getLeaseId()).setEpoch(epoch).setEdge(l.getEdge())).build();
  }

  private static LeaseControl release(Lease l, String edge) {
    return LeaseControl.newBuilder().setRelease(LeaseRelease.newBuilder().setVersion(LeaseRecords.VERSION)
        .setLeaseId(l.getLeaseId()).setEpoch(l.getEpoch()).setEdge(edge)).build();
  }

  private static LeaseControl revoke(Lease l) {
    return LeaseControl.newBuilder().setAdmin(LeaseAdminCommand.newBuilder().setVersion(LeaseRecords.VERSION)
        .setAdmin("ops").setRevoke(RevokeLease.newBuilder().setLeaseId(l.getLeaseId()).setReason("maintenance")))
        .build();
  }

  @Test
  void aGrantHoldsItsSliceOnThePlacerUntilTheDeadlineAndARetriedRequestIsAnsweredOnce() {
    LeaseRequest req = request("edge-a", slice(4, 25));
    List<Lease> out = machine.onRequest(req, clock.millis());
    Lease lease = out.get(0);
    assertEquals(LeaseState.GRANTED, lease.getState());
    assertEquals("lease-" + req.getRequestId(), lease.getLeaseId());
    assertEquals(1, lease.getEpoch());
    assertEquals("center-1", lease.getGrantedBy());
    assertEquals(clock.millis() + 30_000, lease.getDeadlineMillis());
    assertEquals(4 * GIB, lease.getSlices(0).getMemoryBytes());
    assertEquals(1, placer.snapshot().sessions().size());
    assertEquals(4 * GIB, machine.memoryHeld(lease.getSlices(0).getGpuUuid()));

    assertEquals(List.of(), machine.onRequest(req, clock.millis()), "the same request is not answered twice");

    clock.advance(Duration.ofSeconds(29));
    assertEquals(List.of(), machine.expire(clock.millis()));
    clock.advance(Duration.ofSeconds(1));
    List<Lease> expired = machine.expire(clock.millis());
    assertEquals(1, expired.size());
    assertEquals(LeaseState.EXPIRED, expired.get(0).getState());
    assertEquals(2, expired.get(0).getEpoch());
    assertTrue(placer.snapshot().sessions().isEmpty(), "an expired lease leaves the placer");
    assertEquals(0, machine.memoryHeld(lease.getSlices(0).getGpuUuid()));
  }

  @Test
  void aRequestThatDoesNotFitIsRefusedWithWhatWasAskedAndALaterOneFitsOnceCapacityIsReleased() {
    Lease big = grant("edge-a", 12, 50);
    Lease refused = ask("edge-b", slice(4, 10)).get(0);
    assertEquals(LeaseState.REFUSED, refused.getState());
    assertTrue(refused.getReason().startsWith("edge edge-b asked for 1 GPU(s) with " + 4 * GIB + " bytes"),
        refused.getReason());
    assertTrue(refused.getReason().contains("NO_CAPACITY"), refused.getReason());

    assertEquals(List.of(), machine.onControl(release(big, "edge-b"), clock.millis()),
        "another edge cannot release the lease");
    List<Lease> released = machine.onControl(release(big, "edge-a"), clock.millis());
    assertEquals(LeaseState.RELEASED, released.get(0).getState());
    assertEquals("released by edge-a", released.get(0).getReason());
    grant("edge-b", 4, 10);
  }

  @Test
  void anInvalidRequestIsRefusedAndAnUnknownVersionIsNotAnswered() {
    Lease blankEdge = machine.onRequest(request("", slice(1, 10)), clock.millis()).get(0);
    assertEquals(LeaseState.REFUSED, blankEdge.getState());
    assertTrue(blankEdge.getReason().contains("invalid request: edge must not be blank"), blankEdge.getReason());
    LeaseRequest future = request("edge-a", slice(1, 10)).toBuilder().setVersion(LeaseRecords.VERSION + 1).build();
    assertEquals(List.of(), machine.onRequest(future, clock.millis()));
    assertTrue(placer.snapshot().sessions().isEmpty());
  }

  @Test
  void aRenewalAtTheCurrentEpochExtendsTheDeadlineAndAStaleOneChangesNothing() {
    Lease lease = grant("edge-a", 2, 10);
    clock.advance(Duration.ofSeconds(10));
    Lease renewed = machine.onControl(renewal(lease, 1), clock.millis()).get(0);
    assertEquals(LeaseState.GRANTED, renewed.getState());
    assertEquals(2, renewed.getEpoch());
    assertEquals(clock.millis() + 30_000, renewed.getDeadlineMillis());
    assertEquals("renewed", renewed.getReason());
    assertEquals(List.of(), machine.onControl(renewal(lease, 1), clock.millis()), "epoch 1 is stale now");

    clock.advance(Duration.ofSeconds(25));
    assertEquals(List.of(), machine.expire(clock.millis()), "the renewal moved the deadline");
  }

  @Test
  void aRevokedLeaseDrainsTakesNoRenewalAndIsRevokedAtTheDrainDeadline() {
    Lease lease = grant("edge-a", 2, 10);
    Lease draining = machine.onControl(revoke(lease), clock.millis()).get(0);
    assertEquals(LeaseState.DRAINING, draining.getState());
    assertEquals(clock.millis() + 10_000, draining.getDeadlineMillis());
    assertEquals("revoked by ops: maintenance", draining.getReason());
    assertEquals(List.of(), machine.onControl(renewal(draining, 2), clock.millis()), "DRAINING is not renewed");
    assertEquals(List.of(), machine.onControl(revoke(draining), clock.millis()), "nor revoked twice");
    assertEquals(1, placer.snapshot().sessions().size(), "a draining lease still holds its capacity");

    clock.advance(Duration.ofSeconds(10));
    Lease revoked = machine.expire(clock.millis()).get(0);
    assertEquals(LeaseState.REVOKED, revoked.getState());
    assertEquals(3, revoked.getEpoch());
    assertTrue(revoked.getReason().startsWith("drain deadline "), revoked.getReason());
    assertTrue(placer.snapshot().sessions().isEmpty());
  }

  @Test
  void restoreKeepsTheLatestEpochOfEachLeaseAndPutsLiveOnesBackOnTheirCards() {
    Lease a = grant("edge-a", 4, 20);
    Lease b = grant("edge-b", 3, 20);
    Lease aRenewed = machine.onControl(renewal(a, 1), clock.millis()).get(0);
    Lease bReleased = machine.onControl(release(b, "edge-b"), clock.millis()).get(0);
    List<Lease> log = List.of(a, b, aRenewed, bReleased);

    SlicePlacer fresh = LeaseTestSupport.placer(CENTER);
    LeaseStateMachine next = new LeaseStateMachine("center-2", fresh, CenterInventory.of(CENTER), CONFIG);
    next.restore(log);
    Map<String, Lease> snapshot = next.snapshot();
    assertEquals(aRenewed, snapshot.get(a.getLeaseId()));
    assertEquals(bReleased, snapshot.get(b.getLeaseId()));
    assertEquals(List.of(a.getLeaseId()), fresh.snapshot().sessions().stream()
        .map(s -> s.sessionId().value()).toList(), "only the live lease is placed again");
    assertEquals(a.getSlices(0).getGpuUuid(), fresh.snapshot().sessions().get(0).slices().get(0).gpuUuid());
    assertThrows(UnsupportedOperationException.class, () -> snapshot.put("x", a), "a snapshot is immutable");

    next.clear();
    assertTrue(next.snapshot().isEmpty());
    assertTrue(fresh.snapshot().sessions().isEmpty(), "clear releases what it placed");
  }

  @Test
  void aGrantIsCheckedAgainstTheLogsBookWhenThePlacerOffersACardALeaseStillHolds() {
    Lease held = grant("edge-a", 10, 20);
    // A new leader whose placer had the card taken by a center session while it restored: the lease
    // cannot go back on the placer, but the log still gives it 10 GiB of the card.
    SlicePlacer drifted = LeaseTestSupport.placer(CENTER);
    drifted.place(SessionId.of("center-session"), SliceRequest.builder("tenant").gpus(1)
        .memoryBytes(14 * GIB).computePercent(10).build()).orElseThrow();
    LeaseStateMachine next = new LeaseStateMachine("center-2", drifted, CenterInventory.of(CENTER), CONFIG);
    next.restore(List.of(held));
    drifted.release(SessionId.of("center-session"));

    List<Lease> out = next.onRequest(request("edge-b", slice(8, 10)), clock.millis());
    assertEquals(LeaseState.REFUSED, out.get(0).getState());
    assertTrue(out.get(0).getReason().contains("the center placer offered cards the lease log shows as taken"),
        out.get(0).getReason());
    assertTrue(drifted.snapshot().sessions().isEmpty(), "the refused grant left the placer");
    List<Lease> fits = next.onRequest(request("edge-b", slice(5, 10)), clock.millis());
    assertEquals(LeaseState.GRANTED, fits.get(0).getState(), "5 GiB is what the log leaves free");
  }

  @Test
  void expiryEndsEveryLeaseDueInLeaseIdOrder() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(grant("edge-a", 1, 5).getLeaseId());
    }
    clock.advance(Duration.ofSeconds(31));
    List<Lease> expired = machine.expire(clock.millis());
    assertEquals(ids.stream().sorted().toList(), expired.stream().map(Lease::getLeaseId).toList());
    assertTrue(expired.stream().allMatch(l -> l.getState() == LeaseState.EXPIRED));
    assertEquals(List.of(), machine.expire(clock.millis()), "an ended lease does not expire again");
  }
}
