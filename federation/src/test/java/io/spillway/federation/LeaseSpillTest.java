package io.spillway.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.lease.LeaseAdmin;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseListener;
import io.spillway.lease.TestBroker;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.pool.session.SpillTarget.Spill;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.testkit.Await;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link LeaseSpill} against a real Kafka broker and a center gateway leading the leases: an admin's
 * revoke tells the session at once (well before the drain deadline), once; and a center replica reported
 * unreachable is passed over by the next borrows for the cool-off.
 */
class LeaseSpillTest {

  private static final long GIB = 1L << 30;
  /** Long enough that "well before the drain deadline" means seconds, short enough for the REVOKED case. */
  private static final Duration DRAIN = Duration.ofSeconds(6);
  private static final String CENTER_A = "127.0.0.1:7901";
  private static final String CENTER_B = "127.0.0.1:7902";

  private static Federation federation;
  private static String bootstrap;
  private static LeaseClient edgeLeases;
  private static ScheduledExecutorService timer;

  @BeforeAll
  static void federation() throws Exception {
    federation = Federation.builder().broker(TestBroker.create(), TestBroker::start)
        .leases(LeaseConfig.defaults().withLeaseDuration(Duration.ofSeconds(30))
            .withSkewMargin(Duration.ofSeconds(2)).withDrainDuration(DRAIN)
            .withSessionTimeout(Duration.ofSeconds(2)).withMaxPollInterval(Duration.ofSeconds(3)))
        .start();
    bootstrap = federation.bootstrap();
    edgeLeases = federation.leaseClient("edge-west");
    timer = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterAll
  static void stop() {
    if (timer != null) {
      timer.shutdownNow();
    }
    if (federation != null) {
      federation.close();
    }
  }

  private static LeaseSpill spill(List<String> centers) {
    return new LeaseSpill(edgeLeases, centers, LeaseSpill.Mode.WHEN_FULL, 90, Duration.ofSeconds(30),
        Duration.ofSeconds(10), timer);
  }

  private static SliceRequest gib(long gib) {
    return SliceRequest.builder("acme").memoryBytes(gib * GIB).build();
  }

  private record Told(Status status, long atMillis) {}

  private static void revoke(String leaseId) throws Exception {
    try (LeaseAdmin admin = new LeaseAdmin(bootstrap, "test-admin")) {
      admin.revoke(leaseId, "making room", Duration.ofSeconds(10));
    }
  }

  private static LeaseState state(String leaseId) {
    return edgeLeases.lease(leaseId).map(Lease::getState).orElse(LeaseState.UNRECOGNIZED);
  }

  @Test
  void aRevokeTellsTheSessionWhileTheLeaseStillDrainsAndTheGiveBackReleasesIt() throws Exception {
    LeaseSpill spill = spill(List.of(CENTER_A));
    List<Told> told = new CopyOnWriteArrayList<>();
    Spill borrowed = spill.borrow(SessionId.of("s-drain"), gib(4),
        s -> told.add(new Told(s, System.currentTimeMillis()))).get(15, TimeUnit.SECONDS);
    String id = borrowed.leaseId();
    assertEquals(LeaseState.GRANTED, state(id));

    revoke(id);
    Await.until("the session is told its lease was revoked", () -> !told.isEmpty());
    Lease draining = edgeLeases.lease(id).orElseThrow();
    assertEquals(LeaseState.DRAINING, draining.getState(), "told while the lease still holds capacity");
    Told first = told.get(0);
    assertEquals(Status.Code.UNAVAILABLE, first.status().getCode());
    String why = first.status().getDescription();
    assertTrue(why.contains(id) && why.contains("revoked by an admin") && why.contains("making room")
        && why.contains("moving the session"), why);
    long ahead = draining.getDeadlineMillis() - first.atMillis();
    assertTrue(ahead > DRAIN.toMillis() / 2, "told " + ahead + " ms before the drain deadline");

    // The gateway moved the session and gives the old spill back: the lease is released, not revoked.
    spill.giveBack(borrowed);
    Await.until("the drained lease is released by the give-back", () -> state(id) == LeaseState.RELEASED);
    assertTrue(System.currentTimeMillis() < draining.getDeadlineMillis(), "released before the drain deadline");
    spill.giveBack(borrowed);
    assertEquals(1, told.size(), "lost is called once per lease: " + told);
    assertTrue(spill.borrowed().isEmpty());
  }

  @Test
  void aRevokedLeaseNobodyGivesBackIsLostOnceAndAGiveBackAfterwardsIsHarmless() throws Exception {
    LeaseSpill spill = spill(List.of(CENTER_A));
    // The client calls its listeners in the order they were added, one record at a time: one added
    // after the spill's has seen a record once the spill's has handled it.
    Map<String, LeaseState> handled = new ConcurrentHashMap<>();
    LeaseListener behindTheSpill = (previous, current) -> handled.put(current.getLeaseId(), current.getState());
    edgeLeases.addListener(behindTheSpill);
    List<Told> told = new CopyOnWriteArrayList<>();
    Spill borrowed = spill.borrow(SessionId.of("s-revoked"), gib(4),
        s -> told.add(new Told(s, System.currentTimeMillis()))).get(15, TimeUnit.SECONDS);
    String id = borrowed.leaseId();
    revoke(id);
    Await.until("the session is told", () -> !told.isEmpty());
    Await.until("the lease is revoked at its drain deadline", () -> state(id) == LeaseState.REVOKED);
    Await.until("the LeaseSpill has handled the REVOKED record", () -> handled.get(id) == LeaseState.REVOKED);
    edgeLeases.removeListener(behindTheSpill);
    assertEquals(1, told.size(), "DRAINING then REVOKED tell the session once: " + told);
    assertTrue(spill.borrowed().isEmpty(), "a revoked lease is forgotten");
    spill.giveBack(borrowed);
    assertEquals(LeaseState.REVOKED, state(id));
    assertEquals(1, told.size());
  }

  @Test
  void aReplicaReportedUnreachableIsPassedOverForTheCoolOff() throws Exception {
    AtomicLong now = new AtomicLong(1_000_000_000L);
    LeaseSpill spill = spill(List.of(CENTER_A, CENTER_B)).coolOff(Duration.ofSeconds(5)).nanoClock(now::get);
    List<Status> told = new CopyOnWriteArrayList<>();
    Spill first = spill.borrow(SessionId.of("s-a"), gib(1), told::add).get(15, TimeUnit.SECONDS);
    assertEquals(CENTER_A, first.centerAddress(), "the first replica is preferred");

    spill.unreachable(first, Status.UNAVAILABLE.withDescription("connection refused"));
    spill.giveBack(first);
    Spill second = spill.borrow(SessionId.of("s-b"), gib(1), told::add).get(15, TimeUnit.SECONDS);
    assertEquals(CENTER_B, second.centerAddress(), "after an unreachable report the next borrow names another");

    // Both reported: the one reported longest ago is the least bad.
    now.addAndGet(1_000_000_000L);
    spill.unreachable(second, Status.UNAVAILABLE);
    assertEquals(CENTER_A, spill.preferredCenter());

    now.addAndGet(5_000_000_000L);
    spill.giveBack(second);
    Spill third = spill.borrow(SessionId.of("s-c"), gib(1), told::add).get(15, TimeUnit.SECONDS);
    assertEquals(CENTER_A, third.centerAddress(), "past the cool-off the first replica is preferred again");
    spill.giveBack(third);
    Await.until("given back", () -> state(third.leaseId()) == LeaseState.RELEASED);
    assertTrue(told.isEmpty(), "no lease was lost: " + told);
  }
}
