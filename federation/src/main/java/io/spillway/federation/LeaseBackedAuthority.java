package io.spillway.federation;

import io.grpc.Status;
import io.spillway.lease.LeaseClient;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.session.LeaseAuthority;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A center gateway's admission of sessions, read from the lease log. A session is admitted only
 * <ul>
 *   <li>under a lease (an open without one is refused: the center runs nothing outside the lease book);
 *   <li>presented by an edge: when the call carries a proven peer ({@code Caller.PEER}) it must be an
 *       {@link Role#EDGE} named as the lease's holder; when {@code edgeIdentityRequired} (the center runs
 *       with mutual TLS) a call with no proven peer is refused too;
 *   <li>under a GRANTED lease of the log, at exactly the lease's current epoch (epochs start at 1);
 *   <li>within what the lease carries: at most its {@code max_sessions} sessions, whose memory per GPU
 *       together stays within the lease's ({@link LeaseAccounts}), given back when a session ends.
 * </ul>
 * When a lease stops holding capacity (released, expired, revoked), the sessions still running under it
 * end with {@code UNAVAILABLE}.
 *
 * <p>Any center replica can admit: it follows the lease log with a {@link LeaseClient#observer}. A lease
 * granted (or renewed) a moment ago may not have reached this replica's view yet, so an unknown lease or
 * an epoch newer than the view's is looked for again for up to {@link #VIEW_LAG}.
 */
public final class LeaseBackedAuthority implements LeaseAuthority {

  private static final System.Logger LOG = System.getLogger(LeaseBackedAuthority.class.getName());
  static final Duration VIEW_LAG = Duration.ofSeconds(3);
  private static final long POLL_MILLIS = 10;
  /** Lease ids are "lease-" + a UUID; anything much longer is not one, and is not echoed whole. */
  static final int MAX_LEASE_ID_CHARS = 128;

  private final LeaseClient view;
  private final ScheduledExecutorService timer;
  private final boolean edgeIdentityRequired;
  private final LeaseAccounts accounts = new LeaseAccounts();

  /** A center whose calls may come without a proven peer (plaintext): see the class comment. */
  public LeaseBackedAuthority(LeaseClient view, GatewayCore core, ScheduledExecutorService timer) {
    this(view, core, timer, false);
  }

  /**
   * @param edgeIdentityRequired refuse a session whose call carries no proven peer (set when the center
   *     requires mutual TLS of its clients)
   */
  public LeaseBackedAuthority(LeaseClient view, GatewayCore core, ScheduledExecutorService timer,
      boolean edgeIdentityRequired) {
    this.view = view;
    this.timer = timer;
    this.edgeIdentityRequired = edgeIdentityRequired;
    view.addListener((previous, current) -> {
      if (previous != null && holds(previous.getState()) && !holds(current.getState())) {
        core.leaseLost(current.getLeaseId(), Status.UNAVAILABLE.withDescription("lease "
            + current.getLeaseId() + " of edge " + current.getEdge() + " is " + current.getState()
            + (current.getReason().isEmpty() ? "" : ": " + current.getReason())));
      }
    });
  }

  private static boolean holds(LeaseState s) {
    return s == LeaseState.GRANTED || s == LeaseState.DRAINING;
  }

  @Override
  public boolean leasesOnly() {
    return true;
  }

  /** Without a session or caller: checks the lease and epoch only, and charges nothing. */
  @Override
  public CompletableFuture<List<Slice>> admit(String leaseId, long epoch, String edge) {
    return admit(null, leaseId, epoch, Optional.empty(), null);
  }

  @Override
  public CompletableFuture<List<Slice>> admit(Presented p) {
    Optional<PeerIdentity> peer = p.caller().peer();
    if (peer.isPresent() && peer.get().role() != Role.EDGE) {
      return refused(Status.PERMISSION_DENIED.withDescription("only an edge may open sessions at the center; "
          + "the caller is " + peer.get().role().name().toLowerCase(java.util.Locale.ROOT) + " '"
          + peer.get().name() + "'"));
    }
    if (peer.isEmpty() && edgeIdentityRequired) {
      return refused(Status.PERMISSION_DENIED.withDescription("only an edge may open sessions at the center; "
          + "the call presented no edge certificate"));
    }
    return admit(p.session(), p.leaseId(), p.epoch(), peer.map(PeerIdentity::name), p.open().getSlice());
  }

  @Override
  public void ended(SessionId session) {
    accounts.release(session);
  }

  /** Sessions lease {@code leaseId} carries at this replica now. */
  public int sessions(String leaseId) {
    return accounts.sessions(leaseId);
  }

  private CompletableFuture<List<Slice>> admit(SessionId session, String leaseId, long epoch,
      Optional<String> edge, SliceRequest asked) {
    if (leaseId.isBlank()) {
      return refused(Status.INVALID_ARGUMENT.withDescription("open.lease.lease_id is empty"));
    }
    if (leaseId.length() > MAX_LEASE_ID_CHARS) {
      return refused(Status.NOT_FOUND.withDescription("open.lease.lease_id of " + leaseId.length()
          + " characters is no lease of the lease log (lease ids have at most " + MAX_LEASE_ID_CHARS + ")"));
    }
    CompletableFuture<List<Slice>> answer = new CompletableFuture<>();
    check(session, leaseId, epoch, edge, asked, answer, System.nanoTime() + VIEW_LAG.toNanos());
    return answer;
  }

  private void check(SessionId session, String leaseId, long epoch, Optional<String> edge, SliceRequest asked,
      CompletableFuture<List<Slice>> answer, long deadline) {
    Optional<Lease> found = view.lease(leaseId);
    if (found.isEmpty() || found.get().getEpoch() < epoch) {
      if (System.nanoTime() < deadline) {
        timer.schedule(() -> check(session, leaseId, epoch, edge, asked, answer, deadline), POLL_MILLIS,
            TimeUnit.MILLISECONDS);
      } else if (found.isEmpty()) {
        answer.completeExceptionally(Status.NOT_FOUND.withDescription("lease " + leaseId
            + " is not in the lease log").asException());
      } else {
        answer.completeExceptionally(Status.FAILED_PRECONDITION.withDescription("lease " + leaseId
            + " is at epoch " + found.get().getEpoch() + " in the lease log; the open names epoch " + epoch
            + ", which the log has not reached").asException());
      }
      return;
    }
    Lease lease = found.get();
    if (edge.isPresent() && !edge.get().equals(lease.getEdge())) {
      LOG.log(Level.WARNING, "edge " + edge.get() + " presented lease " + leaseId + " of edge " + lease.getEdge()
          + "; refused");
      answer.completeExceptionally(Status.PERMISSION_DENIED.withDescription("lease " + leaseId
          + " is held by edge '" + lease.getEdge() + "', not by the caller, edge '" + edge.get() + "'")
          .asException());
      return;
    }
    if (lease.getEpoch() != epoch) {
      answer.completeExceptionally(Status.FAILED_PRECONDITION.withDescription("lease " + leaseId + " is at epoch "
          + lease.getEpoch() + " in the lease log; the open names epoch " + epoch + ", a stale one").asException());
      return;
    }
    if (lease.getState() != LeaseState.GRANTED) {
      answer.completeExceptionally(Status.FAILED_PRECONDITION.withDescription("lease " + leaseId + " is "
          + lease.getState() + (lease.getState() == LeaseState.DRAINING
          ? " (revoked by an admin; it takes no new sessions)" : "")).asException());
      return;
    }
    long held = LeaseAccounts.memoryPerGpu(lease);
    long bytes = held;
    if (asked != null && asked.getMemoryCase() == SliceRequest.MemoryCase.MEMORY_BYTES
        && asked.getMemoryBytes() > 0) {
      bytes = asked.getMemoryBytes();
    }
    if (session != null) {
      Optional<Status> refusal = accounts.charge(lease, session, bytes);
      if (refusal.isPresent()) {
        answer.completeExceptionally(refusal.get().asException());
        return;
      }
    }
    long charged = bytes;
    answer.complete(lease.getSlicesList().stream().map(g -> new Slice(g.getNodeId(), g.getNodeAddress(),
        g.getGpuIndex(), g.getGpuUuid(), g.getModel(), charged, g.getComputePercent())).toList());
  }

  private static CompletableFuture<List<Slice>> refused(Status status) {
    return CompletableFuture.failedFuture(status.asException());
  }
}
