package io.spillway.federation;

import io.spillway.lease.LeaseListener;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseGrantSlice;
import io.spillway.protocol.v1.LeaseState;
import java.time.Duration;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every lease of every edge, as the lease log says now, for the admin API and the lease gauges.
 *
 * <p>The center's lease view ({@code CenterGateway.view()}) keeps only what admission needs and lists
 * live leases only; this book hears each of its records (register it before the view starts, so it
 * sees the log from offset 0) and keeps the latest record of every lease id, terminal ones included,
 * with the time the lease was first granted.
 *
 * <p>Threading: records arrive on the view's reader thread; readers take a copy under the same
 * monitor, and {@link #awaitChange} waits on it.
 */
public final class LeaseBook implements LeaseListener {

  /** A lease's latest record, and when it was granted (leader clock; its first record seen). */
  public record Entry(Lease lease, long grantedAtMillis) {
    public long memoryBytes() {
      return lease.getSlicesList().stream().mapToLong(LeaseGrantSlice::getMemoryBytes).sum();
    }
  }

  /** Oldest grant first, then lease id: the order {@link #list} returns and rebalancing revokes in. */
  public static final Comparator<Entry> OLDEST_FIRST = Comparator.comparingLong(Entry::grantedAtMillis)
      .thenComparing(e -> e.lease().getLeaseId());

  private final Map<String, Entry> entries = new HashMap<>();

  @Override
  public synchronized void onLeaseChanged(Lease previous, Lease current) {
    Entry known = entries.get(current.getLeaseId());
    if (known != null && known.lease().getEpoch() >= current.getEpoch()) {
      return;
    }
    // Compaction may have removed a lease's first record; its first record seen stands in for it.
    long grantedAt = known != null ? known.grantedAtMillis() : current.getUpdatedAtMillis();
    entries.put(current.getLeaseId(), new Entry(current, grantedAt));
    notifyAll();
  }

  public synchronized Optional<Entry> get(String leaseId) {
    return Optional.ofNullable(entries.get(leaseId));
  }

  /** Leases of {@code edge} (any if null) in {@code state} (any if null), oldest grant first. */
  public synchronized List<Entry> list(String edge, LeaseState state) {
    return entries.values().stream()
        .filter(e -> edge == null || e.lease().getEdge().equals(edge))
        .filter(e -> state == null || e.lease().getState() == state)
        .sorted(OLDEST_FIRST)
        .toList();
  }

  /** How many leases are in each state now; every state is present, at 0 when none. */
  public synchronized Map<LeaseState, Long> countByState() {
    Map<LeaseState, Long> counts = new EnumMap<>(LeaseState.class);
    for (LeaseState s : LeaseState.values()) {
      if (s != LeaseState.UNRECOGNIZED && s != LeaseState.LEASE_STATE_UNSPECIFIED) {
        counts.put(s, 0L);
      }
    }
    entries.values().forEach(e -> counts.merge(e.lease().getState(), 1L, Long::sum));
    return counts;
  }

  /**
   * Waits until lease {@code leaseId} has a record newer than {@code afterEpoch}, at most
   * {@code timeout}. Returns that record, or empty if none came in time.
   */
  public synchronized Optional<Lease> awaitChange(String leaseId, long afterEpoch, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Entry e = entries.get(leaseId);
      if (e != null && e.lease().getEpoch() > afterEpoch) {
        return Optional.of(e.lease());
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return Optional.empty();
      }
      wait(Math.max(1, left / 1_000_000));
    }
  }
}
