package io.spillway.lease.gateway;

import io.grpc.Status;
import io.spillway.lease.LeaseClient;
import io.spillway.pool.gateway.SpillTarget;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.MemoryAsk;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An edge's spill to the center through leases: one lease per spilled session, sized to its slice.
 * While the session runs, the lease is renewed every third of its duration; the session is told the
 * lease is lost when it is revoked or expires, or when it could not be renewed before its usable
 * deadline (its deadline less the clock-skew margin). The lease goes back when the session ends.
 */
public final class LeaseSpill implements SpillTarget {
  private static final Logger LOG = Logger.getLogger(LeaseSpill.class.getName());

  /** When to go to the center. */
  public enum Mode {
    /** Only when nothing fits locally. */
    WHEN_FULL,
    /** Also when the local pool's memory allocation is at or above the threshold. */
    ABOVE_UTILIZATION
  }

  private record Borrowed(Lease lease, Consumer<Status> lost, ScheduledFuture<?> renewals) {}

  private final LeaseClient client;
  private final String centerAddress;
  private final Mode mode;
  private final int thresholdPercent;
  private final Duration grantTimeout;
  private final Duration renewEvery;
  private final ScheduledExecutorService timer;
  private final Map<String, Borrowed> borrowed = new ConcurrentHashMap<>();

  public LeaseSpill(LeaseClient client, String centerAddress, Mode mode, int thresholdPercent,
      Duration leaseDuration, Duration grantTimeout, ScheduledExecutorService timer) {
    this.client = client;
    this.centerAddress = centerAddress;
    this.mode = mode;
    this.thresholdPercent = thresholdPercent;
    this.grantTimeout = grantTimeout;
    this.renewEvery = leaseDuration.dividedBy(3);
    this.timer = timer;
    client.addListener((previous, current) -> {
      Borrowed b = borrowed.get(current.getLeaseId());
      if (b != null && (current.getState() == LeaseState.REVOKED || current.getState() == LeaseState.EXPIRED)) {
        lose(current.getLeaseId(), "lease " + current.getLeaseId() + " is " + current.getState());
      }
    });
  }

  @Override
  public boolean spillFirst(PoolSnapshot local) {
    if (mode != Mode.ABOVE_UTILIZATION) {
      return false;
    }
    long limit = 0;
    long allocated = 0;
    for (GpuView g : local.gpus()) {
      if (g.nodeState() == io.spillway.pool.registry.NodeState.UP) {
        limit += g.memoryLimitBytes();
        allocated += g.memoryAllocatedBytes();
      }
    }
    return limit == 0 || allocated * 100 >= limit * thresholdPercent;
  }

  @Override
  public CompletableFuture<Spill> borrow(SessionId session, SliceRequest request, Consumer<Status> lost) {
    if (!(request.memory() instanceof MemoryAsk.Bytes bytes)) {
      return CompletableFuture.failedFuture(Status.RESOURCE_EXHAUSTED.withDescription(
          "a slice asked in percent of a card cannot be lent by the center; ask in bytes").asException());
    }
    LeaseSlice slice = LeaseSlice.newBuilder().setGpuCount(request.gpuCount()).setMemoryBytes(bytes.bytes())
        .setComputePercent(request.computePercent()).addAllModels(request.models())
        .addAllExcludeModels(request.excludeModels()).build();
    return client.request(slice, grantTimeout).handle((lease, error) -> {
      if (error != null) {
        throw Status.UNAVAILABLE.withDescription("no answer from the lease leader in " + grantTimeout
            + ": " + error.getMessage()).asRuntimeException();
      }
      if (lease.getState() != LeaseState.GRANTED) {
        throw Status.RESOURCE_EXHAUSTED.withDescription(lease.getReason()).asRuntimeException();
      }
      ScheduledFuture<?> renewals = timer.scheduleAtFixedRate(() -> renew(lease.getLeaseId()),
          renewEvery.toMillis(), renewEvery.toMillis(), TimeUnit.MILLISECONDS);
      borrowed.put(lease.getLeaseId(), new Borrowed(lease, lost, renewals));
      return new Spill(centerAddress, lease.getLeaseId(), lease.getEpoch());
    });
  }

  private void renew(String leaseId) {
    Borrowed b = borrowed.get(leaseId);
    if (b == null) {
      return;
    }
    Lease current = client.lease(leaseId).orElse(b.lease());
    if (!client.usable(current)) {
      lose(leaseId, "lease " + leaseId + " was not renewed before its usable deadline "
          + client.usableUntil(current));
      return;
    }
    client.renew(current, renewEvery).whenComplete((renewed, error) -> {
      if (error != null) {
        LOG.log(Level.WARNING, "renewal of lease " + leaseId + " failed: " + error.getMessage()
            + "; retrying until " + client.usableUntil(current));
      }
    });
  }

  private void lose(String leaseId, String why) {
    Borrowed b = borrowed.remove(leaseId);
    if (b != null) {
      b.renewals().cancel(false);
      b.lost().accept(Status.UNAVAILABLE.withDescription(why));
      client.lease(leaseId).filter(l -> l.getState() == LeaseState.GRANTED || l.getState() == LeaseState.DRAINING)
          .ifPresent(l -> client.release(l, grantTimeout));
    }
  }

  @Override
  public void giveBack(Spill spill) {
    Borrowed b = borrowed.remove(spill.leaseId());
    if (b == null) {
      return;
    }
    b.renewals().cancel(false);
    Lease current = client.lease(spill.leaseId()).orElse(b.lease());
    if (current.getState() == LeaseState.GRANTED || current.getState() == LeaseState.DRAINING) {
      client.release(current, grantTimeout).whenComplete((released, error) -> {
        if (error != null) {
          LOG.log(Level.WARNING, "release of lease " + spill.leaseId() + " failed: " + error.getMessage()
              + "; the center reclaims it at its deadline");
        }
      });
    }
  }

  /** Leases lent to this edge's sessions now, by id. */
  public Map<String, Lease> borrowed() {
    Map<String, Lease> out = new ConcurrentHashMap<>();
    borrowed.forEach((id, b) -> out.put(id, client.lease(id).orElse(b.lease())));
    return out;
  }
}
