package io.spillway.lease;

import io.spillway.lease.internal.CapacityBook;
import io.spillway.lease.internal.LeaseRecords;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.Placement;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseAdminCommand;
import io.spillway.protocol.v1.LeaseControl;
import io.spillway.protocol.v1.LeaseGrantSlice;
import io.spillway.protocol.v1.LeaseRelease;
import io.spillway.protocol.v1.LeaseRenewal;
import io.spillway.protocol.v1.LeaseRequest;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The lease leader's rules, without Kafka: records and the leader's time in, the lease records to write
 * out. {@link LeaseManager} feeds it what it consumes and writes what it returns in one transaction;
 * the tests feed it directly, with a manual clock.
 *
 * <p><b>Transitions.</b> A request is answered once (lease id {@code "lease-" + request_id}; a request
 * seen again returns nothing) with GRANTED (deadline now + lease duration) or REFUSED (the reason says
 * what was asked and why). A renewal extends a GRANTED lease whose edge and epoch match; a release ends
 * a GRANTED or DRAINING lease of that edge as RELEASED; an admin revoke turns a GRANTED lease DRAINING
 * (deadline now + drain duration). {@link #expire} ends a GRANTED lease past its deadline as EXPIRED and
 * a DRAINING one as REVOKED. Anything else (unknown lease, stale epoch, other edge, unknown version) is
 * ignored: it returns nothing, and the log stays the answer. Each change writes epoch + 1.
 *
 * <p><b>Capacity.</b> A lease is placed on the center {@link SlicePlacer} as a session (id = lease id,
 * tenant = edge), so center sessions and leases share one book; every grant is also checked against a
 * {@link CapacityBook} kept from the records this machine returned and restored, so the log's invariant
 * (no card over its memory less reserve, nor 100% compute) holds even where the placer's view drifted
 * from the log (see {@link #restore}).
 *
 * <p><b>Effects.</b> A returned record is already applied here (and on the placer). If the caller
 * cannot write it, the caller must {@link #restore} from the log before feeding more: what this machine
 * holds is then ahead of the log.
 *
 * <p>Not thread-safe: one owner thread (the leader loop), which is also the only caller of the placer
 * for leases. Readers take a {@link #snapshot}.
 */
public final class LeaseStateMachine {

  private static final System.Logger LOG = System.getLogger(LeaseStateMachine.class.getName());

  /** The most sessions one lease may carry ({@code LeaseSlice.max_sessions}); a request asking more is refused. */
  public static final int MAX_SESSIONS_PER_LEASE = 64;

  /** The sessions a lease carries at once: its request's {@code max_sessions}, where 0 (unset) means 1. */
  public static int maxSessions(Lease lease) {
    return Math.max(1, lease.getRequested().getMaxSessions());
  }

  private final String memberId;
  private final SlicePlacer placer;
  private final LeaseConfig config;
  private final CapacityBook book;
  private final Map<String, Lease> leases = new HashMap<>();
  /** Live leases that hold slices on the placer (a restored lease may not). */
  private final Set<String> placed = new HashSet<>();

  /**
   * @param memberId written as {@code granted_by} in every record returned
   * @param placer the center pool's placer; leases are placed on it as sessions
   * @param inventory the center cards, by UUID; grants are checked against it
   * @param config lease and drain durations
   */
  public LeaseStateMachine(String memberId, SlicePlacer placer, CenterInventory inventory, LeaseConfig config) {
    this.memberId = Objects.requireNonNull(memberId, "memberId");
    this.placer = Objects.requireNonNull(placer, "placer");
    this.book = new CapacityBook(Objects.requireNonNull(inventory, "inventory"));
    this.config = Objects.requireNonNull(config, "config");
  }

  /**
   * Replaces all state with {@code records} (the lease log in log order; the highest epoch of each lease
   * wins), and places the live leases on the placer again, on the cards the log records.
   *
   * <p>Where the placer cannot put a live lease back (a center session took the card meanwhile, or the
   * node is not registered), the lease keeps its capacity in the {@link CapacityBook} all the same: the
   * log is what the edge uses, and every later grant is checked against the book, so the invariant holds;
   * what can go wrong is that center sessions see such a card as freer than it is.
   */
  public void restore(Collection<Lease> records) {
    clear();
    Map<String, Lease> latest = new LinkedHashMap<>();
    for (Lease lease : records) {
      Lease before = latest.get(lease.getLeaseId());
      if (before == null || before.getEpoch() < lease.getEpoch()) {
        latest.put(lease.getLeaseId(), lease);
      }
    }
    leases.putAll(latest);
    for (Lease lease : latest.values()) {
      if (LeaseRecords.holdsCapacity(lease.getState())) {
        book.hold(lease.getLeaseId(), lease.getSlicesList());
        putBack(lease);
      }
    }
  }

  /** Forgets every lease and releases those it placed from the placer. */
  public void clear() {
    for (String id : placed) {
      placer.release(SessionId.of(id));
    }
    placed.clear();
    book.clear();
    leases.clear();
  }

  /** The answer to a request, or nothing for a request answered already or one that is not valid to answer. */
  public List<Lease> onRequest(LeaseRequest req, long nowMillis) {
    if (req.getVersion() != LeaseRecords.VERSION || req.getRequestId().isBlank()) {
      LOG.log(Level.WARNING, "lease request of version " + req.getVersion() + " with request id '"
          + req.getRequestId() + "' skipped");
      return List.of();
    }
    String leaseId = "lease-" + req.getRequestId();
    if (leases.containsKey(leaseId)) {
      return List.of(); // answered already: a retried request
    }
    Lease.Builder lease = Lease.newBuilder()
        .setVersion(LeaseRecords.VERSION)
        .setLeaseId(leaseId)
        .setEdge(req.getEdge())
        .setEpoch(1)
        .setGrantedBy(memberId)
        .setRequestId(req.getRequestId())
        .setRequested(req.getSlice())
        .setUpdatedAtMillis(nowMillis)
        .setDeadlineMillis(nowMillis);
    LeaseSlice ask = req.getSlice();
    String asked = "edge " + req.getEdge() + " asked for " + ask.getGpuCount() + " GPU(s) with "
        + ask.getMemoryBytes() + " bytes / " + ask.getComputePercent() + "% compute"
        + (ask.getModelsCount() > 0 ? " of model in " + ask.getModelsList() : "");
    SliceRequest request;
    try {
      if (req.getEdge().isBlank()) {
        throw new IllegalArgumentException("edge must not be blank");
      }
      if (ask.getMaxSessions() > MAX_SESSIONS_PER_LEASE) {
        throw new IllegalArgumentException("max_sessions is " + ask.getMaxSessions() + "; at most "
            + MAX_SESSIONS_PER_LEASE + " sessions may share one lease");
      }
      request = SliceRequest.builder(req.getEdge())
          .gpus(ask.getGpuCount())
          .memoryBytes(ask.getMemoryBytes())
          .computePercent(ask.getComputePercent())
          .models(ask.getModelsList().toArray(String[]::new))
          .excludeModels(ask.getExcludeModelsList().toArray(String[]::new))
          .build();
    } catch (IllegalArgumentException e) {
      return List.of(remember(lease.setState(LeaseState.REFUSED)
          .setReason(asked + ": invalid request: " + e.getMessage()).build()));
    }
    Placement placement = placer.place(SessionId.of(leaseId), request);
    if (placement instanceof Placement.Rejected rejected) {
      return List.of(remember(lease.setState(LeaseState.REFUSED)
          .setReason(asked + ": " + rejected.reason() + ": " + rejected.message()).build()));
    }
    List<LeaseGrantSlice> slices = new ArrayList<>();
    for (Slice s : ((Placement.Placed) placement).slices()) {
      slices.add(LeaseGrantSlice.newBuilder()
          .setNodeId(s.nodeId())
          .setNodeAddress(s.address())
          .setGpuIndex(s.gpuIndex())
          .setGpuUuid(s.gpuUuid())
          .setModel(s.model())
          .setMemoryBytes(s.memoryBytes())
          .setComputePercent(s.computePercent())
          .build());
    }
    Optional<String> why = book.whyNotFits(slices);
    if (why.isPresent()) {
      placer.release(SessionId.of(leaseId));
      return List.of(remember(lease.setState(LeaseState.REFUSED)
          .setReason(asked + ": the center placer offered cards the lease log shows as taken: "
              + why.get()).build()));
    }
    placed.add(leaseId);
    book.hold(leaseId, slices);
    return List.of(remember(lease.setState(LeaseState.GRANTED)
        .addAllSlices(slices)
        .setDeadlineMillis(nowMillis + config.leaseDuration().toMillis())
        .build()));
  }

  /** The change a renewal, release or admin order makes, or nothing when it changes nothing. */
  public List<Lease> onControl(LeaseControl control, long nowMillis) {
    return switch (control.getKindCase()) {
      case RENEWAL -> onRenewal(control.getRenewal(), nowMillis);
      case RELEASE -> onRelease(control.getRelease(), nowMillis);
      case ADMIN -> onAdmin(control.getAdmin(), nowMillis);
      default -> List.of();
    };
  }

  private List<Lease> onRenewal(LeaseRenewal renewal, long now) {
    Lease lease = leases.get(renewal.getLeaseId());
    if (renewal.getVersion() != LeaseRecords.VERSION || lease == null
        || lease.getState() != LeaseState.GRANTED || !lease.getEdge().equals(renewal.getEdge())
        || lease.getEpoch() != renewal.getEpoch()) {
      LOG.log(Level.DEBUG, () -> "renewal of " + renewal.getLeaseId() + " e" + renewal.getEpoch()
          + " by " + renewal.getEdge() + " ignored; lease is "
          + (lease == null ? "unknown" : LeaseRecords.describe(lease)));
      return List.of();
    }
    return List.of(remember(next(lease, now).setState(LeaseState.GRANTED)
        .setDeadlineMillis(now + config.leaseDuration().toMillis())
        .setReason("renewed").build()));
  }

  private List<Lease> onRelease(LeaseRelease release, long now) {
    Lease lease = leases.get(release.getLeaseId());
    if (release.getVersion() != LeaseRecords.VERSION || lease == null
        || !LeaseRecords.holdsCapacity(lease.getState())
        || !lease.getEdge().equals(release.getEdge())) {
      return List.of();
    }
    return List.of(free(next(lease, now).setState(LeaseState.RELEASED).setDeadlineMillis(now)
        .setReason("released by " + release.getEdge()).build()));
  }

  private List<Lease> onAdmin(LeaseAdminCommand admin, long now) {
    if (admin.getVersion() != LeaseRecords.VERSION || !admin.hasRevoke()) {
      return List.of();
    }
    Lease lease = leases.get(admin.getRevoke().getLeaseId());
    if (lease == null || lease.getState() != LeaseState.GRANTED) {
      return List.of();
    }
    return List.of(remember(next(lease, now).setState(LeaseState.DRAINING)
        .setDeadlineMillis(now + config.drainDuration().toMillis())
        .setReason("revoked by " + admin.getAdmin() + ": " + admin.getRevoke().getReason())
        .build()));
  }

  /** Ends the live leases whose deadline is at or before {@code nowMillis}, in lease id order. */
  public List<Lease> expire(long nowMillis) {
    List<Lease> due = new ArrayList<>();
    for (Lease lease : leases.values()) {
      if (LeaseRecords.holdsCapacity(lease.getState()) && lease.getDeadlineMillis() <= nowMillis) {
        due.add(lease);
      }
    }
    due.sort(Comparator.comparing(Lease::getLeaseId));
    List<Lease> out = new ArrayList<>(due.size());
    for (Lease lease : due) {
      boolean draining = lease.getState() == LeaseState.DRAINING;
      out.add(free(next(lease, nowMillis)
          .setState(draining ? LeaseState.REVOKED : LeaseState.EXPIRED)
          .setReason((draining ? "drain deadline " : "deadline ")
              + Instant.ofEpochMilli(lease.getDeadlineMillis()) + " passed at "
              + Instant.ofEpochMilli(nowMillis))
          .setDeadlineMillis(nowMillis)
          .build()));
    }
    return out;
  }

  /** Every lease's latest record as this machine holds it now, by lease id; immutable. */
  public Map<String, Lease> snapshot() {
    return Map.copyOf(leases);
  }

  /** Memory the live leases hold on a center card, as the capacity book says. */
  public long memoryHeld(String gpuUuid) {
    return book.memoryUsed(gpuUuid);
  }

  private void putBack(Lease lease) {
    List<LeaseGrantSlice> slices = lease.getSlicesList();
    if (slices.isEmpty()) {
      return;
    }
    List<Slice> exact = slices.stream().map(g -> new Slice(g.getNodeId(), g.getNodeAddress(), g.getGpuIndex(),
        g.getGpuUuid(), g.getModel(), g.getMemoryBytes(), g.getComputePercent())).toList();
    Placement placement = placer.restore(SessionId.of(lease.getLeaseId()), lease.getEdge(), exact);
    if (placement instanceof Placement.Placed) {
      placed.add(lease.getLeaseId());
    } else if (placement instanceof Placement.Rejected r) {
      LOG.log(Level.WARNING, "live lease " + lease.getLeaseId() + " cannot be put back on its cards: "
          + r.message() + "; the lease log still holds its capacity");
    }
  }

  private Lease.Builder next(Lease lease, long now) {
    return lease.toBuilder().setEpoch(lease.getEpoch() + 1).setGrantedBy(memberId).setUpdatedAtMillis(now);
  }

  private Lease remember(Lease lease) {
    leases.put(lease.getLeaseId(), lease);
    return lease;
  }

  private Lease free(Lease lease) {
    book.free(lease.getLeaseId());
    if (placed.remove(lease.getLeaseId())) {
      placer.release(SessionId.of(lease.getLeaseId()));
    }
    return remember(lease);
  }
}
