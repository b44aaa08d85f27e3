package io.spillway.federation;

import io.grpc.Status;
import io.spillway.lease.LeaseClient;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.gateway.LeaseAuthority;
import io.spillway.pool.placement.Slice;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseState;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A center gateway's admission of sessions under a lease, read from the lease log: a session runs on
 * the cards of a GRANTED lease, at an epoch no newer than the log's. When a lease stops holding capacity
 * (released, expired, revoked), the sessions still running under it end with {@code UNAVAILABLE}.
 *
 * <p>Any center replica can admit: it follows the lease log with a {@link LeaseClient#observer}. A
 * lease granted a moment ago may not have reached this replica's view yet, so an unknown lease is
 * looked for again for up to {@link #VIEW_LAG}.
 */
public final class LeaseBackedAuthority implements LeaseAuthority {

  static final Duration VIEW_LAG = Duration.ofSeconds(3);
  private static final long POLL_MILLIS = 10;

  private final LeaseClient view;
  private final ScheduledExecutorService timer;

  public LeaseBackedAuthority(LeaseClient view, GatewayCore core, ScheduledExecutorService timer) {
    this.view = view;
    this.timer = timer;
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
  public CompletableFuture<List<Slice>> admit(String leaseId, long epoch, String tenant) {
    CompletableFuture<List<Slice>> answer = new CompletableFuture<>();
    check(leaseId, epoch, answer, System.nanoTime() + VIEW_LAG.toNanos());
    return answer;
  }

  private void check(String leaseId, long epoch, CompletableFuture<List<Slice>> answer, long deadline) {
    Optional<Lease> found = view.lease(leaseId);
    if (found.isEmpty() || found.get().getEpoch() < epoch) {
      if (System.nanoTime() < deadline) {
        timer.schedule(() -> check(leaseId, epoch, answer, deadline), POLL_MILLIS, TimeUnit.MILLISECONDS);
      } else {
        answer.completeExceptionally(Status.FAILED_PRECONDITION.withDescription(found.isEmpty()
            ? "lease " + leaseId + " is not in the lease log"
            : "lease " + leaseId + " has epoch " + found.get().getEpoch() + ", not " + epoch).asException());
      }
      return;
    }
    Lease lease = found.get();
    if (lease.getState() != LeaseState.GRANTED) {
      answer.completeExceptionally(Status.FAILED_PRECONDITION.withDescription("lease " + leaseId + " is "
          + lease.getState() + (lease.getState() == LeaseState.DRAINING
          ? " (revoked by an admin; it takes no new sessions)" : "")).asException());
      return;
    }
    answer.complete(lease.getSlicesList().stream().map(g -> new Slice(g.getNodeId(), g.getNodeAddress(),
        g.getGpuIndex(), g.getGpuUuid(), g.getModel(), g.getMemoryBytes(), g.getComputePercent())).toList());
  }
}
