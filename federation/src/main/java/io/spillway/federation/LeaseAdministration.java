package io.spillway.federation;

import io.spillway.lease.LeaseAdmin;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseState;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The admin API's actions, without HTTP: revoke one lease, or revoke an edge's leases to free a given
 * amount of memory. An order goes to the lease leader over Kafka through one {@link LeaseAdmin} shared by
 * every action (the actor travels in each order); the leader writes
 * the lease's DRAINING record with reason {@code "revoked by <actor>: <reason>"}, which is the lasting
 * record of the action. Each action is also logged at INFO with its actor.
 *
 * <p>The checks (unknown lease, lease not GRANTED) read the {@link LeaseBook}, which follows the log a
 * moment behind the leader: a lease that changed state meanwhile is caught by the leader, which ignores
 * a revoke of a lease that is not GRANTED; the caller then sees the record that won.
 *
 * <p>Thread-safe. Each action blocks its caller (the order's send, then the wait for the leader's record,
 * each at most the timeout): call it from a worker thread, never from an event loop.
 */
public final class LeaseAdministration {
  private static final System.Logger LOG = System.getLogger(LeaseAdministration.class.getName());

  /** What a revoke came to: the record after the order, and whether the leader had applied it in time. */
  public record Revoked(Lease lease, boolean applied) {}

  /** What a rebalance revoked, oldest grant first, and the memory those leases hold. */
  public record Rebalanced(List<Revoked> revoked, long revokedBytes) {}

  private final LeaseBook book;
  private final Supplier<Optional<LeaseAdmin>> admin;
  private final Duration timeout;

  /**
   * @param admin the one sender of every action's orders, once there is one (the center gateway opens it
   *     at its start and owns it); an action before that is answered 503
   * @param timeout how long to wait for an order to reach Kafka and, then, for the leader's record
   */
  public LeaseAdministration(LeaseBook book, Supplier<Optional<LeaseAdmin>> admin, Duration timeout) {
    this.book = Objects.requireNonNull(book, "book");
    this.admin = Objects.requireNonNull(admin, "admin");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  /**
   * Orders lease {@code leaseId} to drain.
   *
   * @throws AdminException 404 for an unknown lease, 409 for a lease that is not GRANTED or that ended
   *     before the order applied, 503 when Kafka does not take the order
   */
  public Revoked revoke(String actor, String leaseId, String reason) throws InterruptedException {
    LeaseBook.Entry entry = book.get(leaseId).orElseThrow(() -> new AdminException(404, "id",
        "no lease " + leaseId + " in the lease log"));
    requireGranted(entry.lease());
    LOG.log(Level.INFO, String.format(Locale.ROOT, "admin %s revokes lease %s of edge %s (%d bytes): %s", actor, leaseId, entry.lease().getEdge(),
        entry.memoryBytes(), reason));
    send(actor, leaseId, reason);
    return awaitDraining(leaseId, entry.lease().getEpoch());
  }

  /**
   * Revokes {@code fromEdge}'s GRANTED leases, oldest grant first, until the revoked ones hold at least
   * {@code memoryBytes} (all of them if they hold less). Leases already DRAINING do not count. The freed
   * capacity goes to whichever edge asks next: nothing is reserved for {@code toEdge}.
   *
   * @throws AdminException 409 when {@code fromEdge} holds no GRANTED lease
   */
  public Rebalanced rebalance(String actor, String fromEdge, String toEdge, long memoryBytes, String reason)
      throws InterruptedException {
    List<LeaseBook.Entry> granted = book.list(fromEdge, LeaseState.GRANTED);
    if (granted.isEmpty()) {
      throw new AdminException(409, "fromEdge", "edge " + fromEdge + " holds no GRANTED lease");
    }
    List<LeaseBook.Entry> chosen = plan(granted, memoryBytes);
    long bytes = chosen.stream().mapToLong(LeaseBook.Entry::memoryBytes).sum();
    String why = "rebalance to " + toEdge + ": " + reason;
    LOG.log(Level.INFO, String.format(Locale.ROOT, "admin %s rebalances %d bytes from edge %s to edge %s (%s): revoking %d lease(s) holding %d"
        + " bytes: %s", actor, memoryBytes, fromEdge, toEdge, reason, chosen.size(), bytes,
        chosen.stream().map(e -> e.lease().getLeaseId()).toList()));
    List<Revoked> revoked = new ArrayList<>();
    for (LeaseBook.Entry e : chosen) {
      send(actor, e.lease().getLeaseId(), why);
    }
    for (LeaseBook.Entry e : chosen) {
      try {
        revoked.add(awaitDraining(e.lease().getLeaseId(), e.lease().getEpoch()));
      } catch (AdminException ended) {
        // Released or expired while the order travelled: it frees its memory all the same.
        revoked.add(new Revoked(book.get(e.lease().getLeaseId()).orElseThrow().lease(), false));
      }
    }
    return new Rebalanced(revoked, bytes);
  }

  /** The prefix of {@code oldestFirst} whose memory first reaches {@code bytes}, or all of it. */
  public static List<LeaseBook.Entry> plan(List<LeaseBook.Entry> oldestFirst, long bytes) {
    List<LeaseBook.Entry> chosen = new ArrayList<>();
    long sum = 0;
    for (LeaseBook.Entry e : oldestFirst) {
      if (sum >= bytes) {
        break;
      }
      chosen.add(e);
      sum += e.memoryBytes();
    }
    return chosen;
  }

  private static void requireGranted(Lease lease) {
    if (lease.getState() != LeaseState.GRANTED) {
      throw new AdminException(409, "id", "lease " + lease.getLeaseId() + " is " + lease.getState()
          + "; only a GRANTED lease can be revoked");
    }
  }

  private void send(String actor, String leaseId, String reason) throws InterruptedException {
    LeaseAdmin sender = admin.get().orElseThrow(() -> new AdminException(503, null,
        "the center gateway is not started; no order can be sent yet"));
    try {
      sender.revoke(actor, leaseId, reason, timeout);
    } catch (InterruptedException e) {
      throw e;
    } catch (Exception e) {
      throw new AdminException(503, null, "the revoke order for " + leaseId + " did not reach Kafka in "
          + timeout + ": " + e);
    }
  }

  /** The lease's next record if it comes in time: DRAINING, applied; an end that won the race: 409. */
  private Revoked awaitDraining(String leaseId, long epoch) throws InterruptedException {
    Optional<Lease> next = book.awaitChange(leaseId, epoch, timeout);
    if (next.isEmpty()) {
      return new Revoked(book.get(leaseId).orElseThrow().lease(), false);
    }
    Lease lease = next.get();
    if (lease.getState() == LeaseState.GRANTED) {
      // A renewal came first; the leader applies the order on a later turn.
      return book.awaitChange(leaseId, lease.getEpoch(), timeout)
          .map(l -> new Revoked(l, l.getState() == LeaseState.DRAINING))
          .orElse(new Revoked(lease, false));
    }
    if (lease.getState() != LeaseState.DRAINING) {
      throw new AdminException(409, "id", "lease " + leaseId + " became " + lease.getState()
          + " before the revocation applied: " + lease.getReason());
    }
    return new Revoked(lease, true);
  }
}
