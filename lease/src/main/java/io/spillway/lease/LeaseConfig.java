package io.spillway.lease;

import java.time.Duration;
import java.util.Objects;

/**
 * Timings of the lease protocol, shared by the leader and the edges (both must agree on the skew margin
 * being smaller than the lease duration).
 *
 * @param leaseDuration how long a grant or a renewal holds capacity, on the leader's clock
 * @param drainDuration how long a revoked lease stays DRAINING before it is REVOKED regardless
 * @param skewMargin how long before the deadline an edge stops using a lease, to cover clock skew
 *     between edge and leader and the time a renewal takes; must be {@code < leaseDuration}
 * @param sessionTimeout the leader group's consumer session timeout: how long a silently dead leader
 *     holds leadership (the broker allows >= 1 s with the embedded test broker, >= 6 s by default)
 * @param maxPollInterval the longest a leader may spend between two polls before it is deposed (and
 *     then fenced if it tries to write again)
 */
public record LeaseConfig(
    Duration leaseDuration,
    Duration drainDuration,
    Duration skewMargin,
    Duration sessionTimeout,
    Duration maxPollInterval) {

  public LeaseConfig {
    Objects.requireNonNull(leaseDuration, "leaseDuration");
    Objects.requireNonNull(drainDuration, "drainDuration");
    Objects.requireNonNull(skewMargin, "skewMargin");
    Objects.requireNonNull(sessionTimeout, "sessionTimeout");
    Objects.requireNonNull(maxPollInterval, "maxPollInterval");
    if (leaseDuration.isNegative() || leaseDuration.isZero()) {
      throw new IllegalArgumentException("leaseDuration must be > 0, got " + leaseDuration);
    }
    if (skewMargin.isNegative() || skewMargin.compareTo(leaseDuration) >= 0) {
      throw new IllegalArgumentException("skewMargin must be in [0, leaseDuration " + leaseDuration
          + "), got " + skewMargin);
    }
    if (drainDuration.isNegative()) {
      throw new IllegalArgumentException("drainDuration must be >= 0, got " + drainDuration);
    }
  }

  /** 60 s leases, 30 s drain, 5 s skew margin, 6 s session timeout, 30 s max poll interval. */
  public static LeaseConfig defaults() {
    return new LeaseConfig(Duration.ofSeconds(60), Duration.ofSeconds(30), Duration.ofSeconds(5),
        Duration.ofSeconds(6), Duration.ofSeconds(30));
  }

  public LeaseConfig withLeaseDuration(Duration d) {
    return new LeaseConfig(d, drainDuration, skewMargin, sessionTimeout, maxPollInterval);
  }

  public LeaseConfig withDrainDuration(Duration d) {
    return new LeaseConfig(leaseDuration, d, skewMargin, sessionTimeout, maxPollInterval);
  }

  public LeaseConfig withSkewMargin(Duration d) {
    return new LeaseConfig(leaseDuration, drainDuration, d, sessionTimeout, maxPollInterval);
  }

  public LeaseConfig withSessionTimeout(Duration d) {
    return new LeaseConfig(leaseDuration, drainDuration, skewMargin, d, maxPollInterval);
  }

  public LeaseConfig withMaxPollInterval(Duration d) {
    return new LeaseConfig(leaseDuration, drainDuration, skewMargin, sessionTimeout, d);
  }
}
