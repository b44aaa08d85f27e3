package io.spillway.federation;

import io.grpc.Status;
import io.spillway.lease.LeaseStateMachine;
import io.spillway.pool.model.SessionId;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseGrantSlice;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What each lease carries at this center replica now: its sessions, and the memory per GPU each was
 * charged. A lease carries at most {@link LeaseStateMachine#maxSessions} sessions, and their charges
 * together never exceed the memory the lease holds on each of its GPUs, so one lease cannot be
 * overcommitted here however many sessions its edge opens under it.
 *
 * <p>Per replica: a lease's sessions at two center replicas are counted apart (see docs/leases.md).
 * Thread-safe: every method takes this object's monitor, and none calls out while holding it.
 */
final class LeaseAccounts {

  private record Account(String leaseId, Map<SessionId, Long> charges) {
    long charged() {
      return charges.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  private final Map<String, Account> byLease = new HashMap<>();
  private final Map<SessionId, Account> bySession = new HashMap<>();

  /**
   * Charges {@code session} {@code bytesPerGpu} against {@code lease}; empty if it fits, else the refusal
   * ({@code RESOURCE_EXHAUSTED} naming the lease and its limit). A session charged already is refused.
   */
  synchronized Optional<Status> charge(Lease lease, SessionId session, long bytesPerGpu) {
    if (bySession.containsKey(session)) {
      return Optional.of(Status.ALREADY_EXISTS.withDescription("session " + session.value()
          + " is already admitted under lease " + bySession.get(session).leaseId()));
    }
    long held = memoryPerGpu(lease);
    int limit = LeaseStateMachine.maxSessions(lease);
    Account a = byLease.computeIfAbsent(lease.getLeaseId(), id -> new Account(id, new LinkedHashMap<>()));
    if (a.charges().size() >= limit) {
      return Optional.of(Status.RESOURCE_EXHAUSTED.withDescription("lease " + lease.getLeaseId() + " of edge "
          + lease.getEdge() + " already carries " + a.charges().size() + " session(s), its limit of " + limit
          + " (max_sessions)"));
    }
    if (bytesPerGpu > held - a.charged()) {
      return Optional.of(Status.RESOURCE_EXHAUSTED.withDescription("lease " + lease.getLeaseId() + " of edge "
          + lease.getEdge() + " holds " + held + " bytes per GPU, " + a.charged() + " of them charged to "
          + a.charges().size() + " session(s); " + bytesPerGpu + " more do not fit"));
    }
    a.charges().put(session, bytesPerGpu);
    bySession.put(session, a);
    return Optional.empty();
  }

  /** Gives back what {@code session} was charged. Idempotent. */
  synchronized void release(SessionId session) {
    Account a = bySession.remove(session);
    if (a != null) {
      a.charges().remove(session);
      if (a.charges().isEmpty()) {
        byLease.remove(a.leaseId());
      }
    }
  }

  /** Sessions lease {@code leaseId} carries here now. */
  synchronized int sessions(String leaseId) {
    Account a = byLease.get(leaseId);
    return a == null ? 0 : a.charges().size();
  }

  /** Memory per GPU charged to lease {@code leaseId}'s sessions here now. */
  synchronized long charged(String leaseId) {
    Account a = byLease.get(leaseId);
    return a == null ? 0 : a.charged();
  }

  /** The memory the lease holds on each of its GPUs: the smallest of its slices'. */
  static long memoryPerGpu(Lease lease) {
    return lease.getSlicesList().stream().mapToLong(LeaseGrantSlice::getMemoryBytes).min().orElse(0);
  }
}
