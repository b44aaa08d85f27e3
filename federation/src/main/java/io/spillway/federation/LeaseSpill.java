package io.spillway.federation;

import io.grpc.Status;
import io.spillway.lease.LeaseClient;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.MemoryAsk;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.pool.session.SpillTarget;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An edge's spill to the center through leases: one lease per spilled session, sized to its slice.
 * While the session runs, the lease is renewed when a third of the time it has left before its usable
 * deadline has passed (and never later than the renew interval, if one is set): the schedule follows
 * each granted deadline, so the edge needs no copy of the center's lease duration, and attempts come
 * closer together as a deadline nears without a renewal. The session is told the
 * lease is lost (its {@code lost} callback, at most once per lease) when an admin revokes it (the lease
 * turns DRAINING: the session is told at once, so the gateway moves it while the lease still holds
 * capacity, then gives the spill back), when it is revoked or expires, or when it could not be renewed
 * before its usable deadline (its deadline less the clock-skew margin). The lease goes back when the
 * session ends or moves ({@link #giveBack}, idempotent, harmless after {@code lost}).
 *
 * <p>The center may run several replicas; each follows the lease log, so any of them admits a session
 * under any lease. Each {@link Spill} names one: the first of {@code centers} not reported
 * {@link #unreachable} within the last {@link #DEFAULT_COOL_OFF} (or, when every replica was, the one
 * reported longest ago).
 */
public final class LeaseSpill implements SpillTarget {
  private static final Logger LOG = Logger.getLogger(LeaseSpill.class.getName());

  /** How long a center replica reported unreachable is passed over when another one is not. */
  public static final Duration DEFAULT_COOL_OFF = Duration.ofSeconds(5);

  /** When to go to the center. */
  public enum Mode {
    /** Only when nothing fits locally. */
    WHEN_FULL,
    /** Also when the local pool's memory allocation is at or above the threshold. */
    ABOVE_UTILIZATION
  }

  /** The shortest wait between two renewal attempts, unless the usable deadline is nearer. */
  static final Duration MIN_RENEWAL_WAIT = Duration.ofMillis(100);

  private record Borrowed(Lease lease, Consumer<Status> lost, AtomicReference<ScheduledFuture<?>> renewal,
      AtomicBoolean told) {

    void cancelRenewal() {
      ScheduledFuture<?> f = renewal.get();
      if (f != null) {
        f.cancel(false);
      }
    }

    /** Calls {@code lost} unless it was called already for this lease. */
    void tell(Status status) {
      if (told.compareAndSet(false, true)) {
        lost.accept(status);
      }
    }
  }

  private final LeaseClient client;
  private final List<String> centers;
  private final Mode mode;
  private final int thresholdPercent;
  private final Duration grantTimeout;
  private final Duration renewInterval;
  private final ScheduledExecutorService timer;
  private final Map<String, Borrowed> borrowed = new ConcurrentHashMap<>();
  /** Center address to the {@link #nanos} at which it was last reported unreachable. */
  private final Map<String, Long> unreachableAt = new ConcurrentHashMap<>();
  private volatile long coolOffNanos = DEFAULT_COOL_OFF.toNanos();
  private volatile LongSupplier nanos = System::nanoTime;

  /** One center gateway (or one address in front of its replicas). */
  public LeaseSpill(LeaseClient client, String centerAddress, Mode mode, int thresholdPercent,
      Duration renewInterval, Duration grantTimeout, ScheduledExecutorService timer) {
    this(client, List.of(centerAddress), mode, thresholdPercent, renewInterval, grantTimeout, timer);
  }

  /**
   * @param centers host:port of each center replica's session service, most preferred first; not empty
   * @param renewInterval the longest wait between two renewals of a lease (a third of the time left is
   *     used when shorter); positive
   * @param timer runs the renewals; no blocking call runs on it (the lease client's sends do not block)
   */
  public LeaseSpill(LeaseClient client, List<String> centers, Mode mode, int thresholdPercent,
      Duration renewInterval, Duration grantTimeout, ScheduledExecutorService timer) {
    if (centers.isEmpty()) {
      throw new IllegalArgumentException("at least one center address is needed");
    }
    this.client = client;
    this.centers = List.copyOf(centers);
    this.mode = mode;
    this.thresholdPercent = thresholdPercent;
    this.grantTimeout = grantTimeout;
    if (renewInterval.isNegative() || renewInterval.isZero()) {
      throw new IllegalArgumentException("the renew interval must be positive, got " + renewInterval);
    }
    this.renewInterval = renewInterval;
    this.timer = timer;
    client.addListener((previous, current) -> {
      String id = current.getLeaseId();
      Borrowed b = borrowed.get(id);
      if (b == null) {
        return;
      }
      switch (current.getState()) {
        case DRAINING -> draining(id, b, current);
        case REVOKED, EXPIRED -> lose(id, "lease " + id + " is " + current.getState()
            + (current.getReason().isEmpty() ? "" : " (" + current.getReason() + ")"), false);
        default -> { }
      }
    });
  }

  /** Sets how long a replica reported unreachable is passed over (default {@link #DEFAULT_COOL_OFF}). */
  public LeaseSpill coolOff(Duration coolOff) {
    this.coolOffNanos = coolOff.toNanos();
    return this;
  }

  /** For tests: the clock of the cool-off, in nanoseconds. */
  LeaseSpill nanoClock(LongSupplier nanos) {
    this.nanos = nanos;
    return this;
  }

  /** The center replicas, most preferred first. */
  public List<String> centers() {
    return centers;
  }

  /** The replica the next borrow names. */
  public String preferredCenter() {
    long now = nanos.getAsLong();
    String oldest = null;
    long oldestAt = Long.MAX_VALUE;
    for (String c : centers) {
      Long at = unreachableAt.get(c);
      if (at == null || now - at >= coolOffNanos) {
        return c;
      }
      if (oldest == null || at - oldestAt < 0) {
        oldest = c;
        oldestAt = at;
      }
    }
    return oldest;
  }

  @Override
  public void unreachable(Spill spill, Status status) {
    String center = spill.centerAddress();
    if (centers.contains(center)) {
      unreachableAt.put(center, nanos.getAsLong());
      LOG.warning(() -> "center " + center + " unreachable (" + status.getCode()
          + (status.getDescription() == null ? "" : " " + status.getDescription())
          + "); for " + Duration.ofNanos(coolOffNanos) + " spills prefer " + preferredCenter());
    }
  }

  @Override
  public java.util.Optional<Spill> elsewhere(Spill spill) {
    Borrowed b = borrowed.get(spill.leaseId());
    if (b == null) {
      return java.util.Optional.empty();
    }
    Lease current = client.lease(spill.leaseId()).orElse(b.lease());
    if (current.getState() != LeaseState.GRANTED || !client.usable(current)) {
      return java.util.Optional.empty();
    }
    // Another replica if one was not reported unreachable lately; else the one reported longest ago,
    // which may be this one again: a cut link comes back, and the lease is still good.
    return java.util.Optional.of(new Spill(preferredCenter(), spill.leaseId(), current.getEpoch()));
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
      Borrowed b = new Borrowed(lease, lost, new AtomicReference<>(), new AtomicBoolean());
      borrowed.put(lease.getLeaseId(), b);
      scheduleRenewal(lease.getLeaseId(), b, lease);
      // Revoked between the grant and now: the listener saw no borrowed lease, so look again.
      client.lease(lease.getLeaseId()).filter(l -> l.getState() == LeaseState.DRAINING)
          .ifPresent(l -> draining(l.getLeaseId(), b, l));
      return new Spill(preferredCenter(), lease.getLeaseId(), lease.getEpoch());
    });
  }

  /**
   * An admin revoked the lease: it holds its capacity until the drain deadline and cannot be renewed.
   * The session is told now, so that the gateway moves it meanwhile; the lease stays borrowed until
   * the gateway gives the spill back (which releases it) or the lease turns REVOKED.
   */
  private void draining(String leaseId, Borrowed b, Lease current) {
    b.cancelRenewal();
    b.tell(Status.UNAVAILABLE.withDescription("lease " + leaseId + " was revoked by an admin (draining until "
        + Instant.ofEpochMilli(current.getDeadlineMillis())
        + (current.getReason().isEmpty() ? "" : "; " + current.getReason()) + "): moving the session"));
  }

  /**
   * How long to wait before the next renewal attempt when the lease has {@code left} before its usable
   * deadline: a third of it, at most {@code cap}, at least {@link #MIN_RENEWAL_WAIT} unless the deadline
   * is nearer (then exactly the deadline, where the attempt finds the lease unusable).
   */
  static Duration nextRenewal(Duration left, Duration cap) {
    if (left.isNegative() || left.isZero()) {
      return Duration.ZERO;
    }
    Duration wait = left.dividedBy(3);
    if (wait.compareTo(cap) > 0) {
      wait = cap;
    }
    Duration floor = left.compareTo(MIN_RENEWAL_WAIT) < 0 ? left : MIN_RENEWAL_WAIT;
    return wait.compareTo(floor) < 0 ? floor : wait;
  }

  private void scheduleRenewal(String leaseId, Borrowed b, Lease current) {
    Duration wait = nextRenewal(client.usableFor(current), renewInterval);
    b.renewal().set(timer.schedule(() -> renew(leaseId), wait.toMillis(), TimeUnit.MILLISECONDS));
    if (borrowed.get(leaseId) != b) {
      b.cancelRenewal(); // given back or lost meanwhile
    }
  }

  private void renew(String leaseId) {
    Borrowed b = borrowed.get(leaseId);
    if (b == null) {
      return;
    }
    Lease current = client.lease(leaseId).orElse(b.lease());
    if (current.getState() == LeaseState.DRAINING) {
      draining(leaseId, b, current);
      return;
    }
    if (!client.usable(current)) {
      lose(leaseId, "lease " + leaseId + " was not renewed before its usable deadline "
          + client.usableUntil(current), true);
      return;
    }
    // The answer is awaited no longer than the next attempt would be, so that attempts keep coming
    // closer together as the usable deadline nears.
    Duration answer = nextRenewal(client.usableFor(current), renewInterval);
    client.renew(current, answer).whenComplete((renewed, error) -> {
      if (error != null) {
        LOG.log(Level.WARNING, "renewal of lease " + leaseId + " failed: " + error.getMessage()
            + "; retrying until " + client.usableUntil(current));
      }
      Lease latest = client.lease(leaseId).orElse(current);
      if (latest.getState() == LeaseState.GRANTED && borrowed.get(leaseId) == b) {
        scheduleRenewal(leaseId, b, latest);
      }
    });
  }

  /** The lease is gone or unusable: forget it, tell the session (unless told already), release it if live. */
  private void lose(String leaseId, String why, boolean release) {
    Borrowed b = borrowed.remove(leaseId);
    if (b != null) {
      b.cancelRenewal();
      b.tell(Status.UNAVAILABLE.withDescription(why));
      if (release) {
        client.lease(leaseId)
            .filter(l -> l.getState() == LeaseState.GRANTED || l.getState() == LeaseState.DRAINING)
            .ifPresent(l -> client.release(l, grantTimeout));
      }
    }
  }

  @Override
  public void giveBack(Spill spill) {
    Borrowed b = borrowed.remove(spill.leaseId());
    if (b == null) {
      return;
    }
    b.cancelRenewal();
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
