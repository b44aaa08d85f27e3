package io.spillway.center;

import io.spillway.console.PoolSampler;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseRequest;
import io.spillway.protocol.v1.LeaseState;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Lease grant latency for the console's history: for each lease request, the time from the edge's
 * {@code requested_at} to the leader's first GRANTED record for it ({@code updated_at}, epoch 1). The two
 * stamps come from two clocks (the edge's and the leader's), so across machines the figure includes
 * their skew; on one machine it is the grant's real latency.
 *
 * <p>Requests and grants come from two topics and may be heard in either order: whichever comes first
 * waits (at most {@link #PENDING} of each, oldest dropped) for the other.
 *
 * <p>Threading: fed by one reader thread, drained by the console's sampler; both under this monitor.
 */
final class LeaseGrantTimes implements PoolSampler.GrantLatency {

  static final int PENDING = 10_000;

  private final Map<String, Long> requested = bounded();
  private final Map<String, Long> granted = bounded();
  private long sumMillis;
  private int count;

  private static Map<String, Long> bounded() {
    return new LinkedHashMap<>() {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
        return size() > PENDING;
      }
    };
  }

  synchronized void onRequest(LeaseRequest r) {
    if (r.getRequestId().isBlank()) {
      return;
    }
    Long at = granted.remove(r.getRequestId());
    if (at != null) {
      add(at - r.getRequestedAtMillis());
    } else {
      requested.put(r.getRequestId(), r.getRequestedAtMillis());
    }
  }

  synchronized void onLease(Lease l) {
    if (l.getEpoch() != 1 || l.getState() != LeaseState.GRANTED || l.getRequestId().isBlank()) {
      return;
    }
    Long at = requested.remove(l.getRequestId());
    if (at != null) {
      add(l.getUpdatedAtMillis() - at);
    } else {
      granted.put(l.getRequestId(), l.getUpdatedAtMillis());
    }
  }

  private void add(long millis) {
    sumMillis += Math.max(0, millis);
    count++;
  }

  @Override
  public synchronized Double drainMeanMillis() {
    if (count == 0) {
      return null;
    }
    double mean = sumMillis / (double) count;
    sumMillis = 0;
    count = 0;
    return mean;
  }
}
