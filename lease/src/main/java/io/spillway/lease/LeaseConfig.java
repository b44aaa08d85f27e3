package io.spillway.lease;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Timings of the lease protocol, shared by the leader and the edges, and the one declaration of their
 * defaults: the edge and center gateways' configuration keys take their defaults from the constants
 * here, so the two sides agree unless an operator sets them apart.
 *
 * @param leaseDuration how long a grant or a renewal holds capacity, on the leader's clock
 * @param drainDuration how long a revoked lease stays DRAINING before it is REVOKED regardless
 * @param skewMargin how long before the deadline an edge stops using a lease, to cover clock skew
 *     between edge and leader and the time a renewal takes; must be {@code < leaseDuration}
 * @param sessionTimeout the leader group's consumer session timeout: how long a silently dead leader
 *     holds leadership (the broker allows >= 1 s with the embedded test broker, >= 6 s by default)
 * @param maxPollInterval the longest a leader may spend between two polls before it is deposed (and
 *     then fenced if it tries to write again)
 * @param kafka how long each lease producer's calls may block or wait
 * @param kafkaProperties client settings passed through to every lease client: security protocol, SASL
 *     and SSL ({@link KafkaClientProperties}); empty for a plaintext broker
 */
public record LeaseConfig(
    Duration leaseDuration,
    Duration drainDuration,
    Duration skewMargin,
    Duration sessionTimeout,
    Duration maxPollInterval,
    KafkaTimeouts kafka,
    Map<String, String> kafkaProperties) {

  // In seconds for defaults(), and as text for the gateways' @WithDefault (which needs a constant).
  static final int LEASE_DURATION_SECONDS = 30;
  static final int SKEW_MARGIN_SECONDS = 2;
  static final int DRAIN_DURATION_SECONDS = 30;
  static final int SESSION_TIMEOUT_SECONDS = 6;
  static final int MAX_POLL_INTERVAL_SECONDS = 30;
  /** Default lease duration, for the edge's and the center's configuration. */
  public static final String DEFAULT_LEASE_DURATION = LEASE_DURATION_SECONDS + "s";
  /** Default skew margin, for the edge's and the center's configuration. */
  public static final String DEFAULT_SKEW_MARGIN = SKEW_MARGIN_SECONDS + "s";
  public static final String DEFAULT_DRAIN_DURATION = DRAIN_DURATION_SECONDS + "s";
  public static final String DEFAULT_SESSION_TIMEOUT = SESSION_TIMEOUT_SECONDS + "s";
  public static final String DEFAULT_MAX_POLL_INTERVAL = MAX_POLL_INTERVAL_SECONDS + "s";

  public LeaseConfig {
    Objects.requireNonNull(leaseDuration, "leaseDuration");
    Objects.requireNonNull(drainDuration, "drainDuration");
    Objects.requireNonNull(skewMargin, "skewMargin");
    Objects.requireNonNull(sessionTimeout, "sessionTimeout");
    Objects.requireNonNull(maxPollInterval, "maxPollInterval");
    Objects.requireNonNull(kafka, "kafka");
    kafkaProperties = KafkaClientProperties.check("kafkaProperties.", kafkaProperties);
    check(leaseDuration, skewMargin, "leaseDuration", "skewMargin");
    if (drainDuration.isNegative()) {
      throw new IllegalArgumentException("drainDuration must be >= 0, got " + drainDuration);
    }
  }

  /** With no client properties (a plaintext broker). */
  public LeaseConfig(Duration leaseDuration, Duration drainDuration, Duration skewMargin,
      Duration sessionTimeout, Duration maxPollInterval, KafkaTimeouts kafka) {
    this(leaseDuration, drainDuration, skewMargin, sessionTimeout, maxPollInterval, kafka, Map.of());
  }

  /** With the default Kafka timeouts. */
  public LeaseConfig(Duration leaseDuration, Duration drainDuration, Duration skewMargin,
      Duration sessionTimeout, Duration maxPollInterval) {
    this(leaseDuration, drainDuration, skewMargin, sessionTimeout, maxPollInterval, KafkaTimeouts.defaults());
  }

  /**
   * The one check of lease timing: the lease duration is positive and the skew margin is in
   * {@code [0, leaseDuration)} (else no lease is ever usable). The messages name the caller's keys.
   *
   * @throws IllegalArgumentException naming {@code durationKey} or {@code marginKey} and the value
   */
  public static void check(Duration leaseDuration, Duration skewMargin, String durationKey, String marginKey) {
    if (leaseDuration.isNegative() || leaseDuration.isZero()) {
      throw new IllegalArgumentException(durationKey + " is " + leaseDuration + "; it must be positive");
    }
    if (skewMargin.isNegative() || skewMargin.compareTo(leaseDuration) >= 0) {
      throw new IllegalArgumentException(marginKey + " is " + skewMargin + "; it must be >= 0 and shorter than "
          + durationKey + " (" + leaseDuration + "), or no lease is ever usable");
    }
  }

  /**
   * 30 s leases, 2 s skew margin, 30 s drain, 6 s session timeout, 30 s max poll interval, and the
   * {@linkplain KafkaTimeouts#defaults default Kafka timeouts}.
   */
  public static LeaseConfig defaults() {
    return new LeaseConfig(Duration.ofSeconds(LEASE_DURATION_SECONDS), Duration.ofSeconds(DRAIN_DURATION_SECONDS),
        Duration.ofSeconds(SKEW_MARGIN_SECONDS), Duration.ofSeconds(SESSION_TIMEOUT_SECONDS),
        Duration.ofSeconds(MAX_POLL_INTERVAL_SECONDS), KafkaTimeouts.defaults());
  }

  public LeaseConfig withLeaseDuration(Duration d) {
    return new LeaseConfig(d, drainDuration, skewMargin, sessionTimeout, maxPollInterval, kafka,
        kafkaProperties);
  }

  public LeaseConfig withDrainDuration(Duration d) {
    return new LeaseConfig(leaseDuration, d, skewMargin, sessionTimeout, maxPollInterval, kafka,
        kafkaProperties);
  }

  public LeaseConfig withSkewMargin(Duration d) {
    return new LeaseConfig(leaseDuration, drainDuration, d, sessionTimeout, maxPollInterval, kafka,
        kafkaProperties);
  }

  public LeaseConfig withSessionTimeout(Duration d) {
    return new LeaseConfig(leaseDuration, drainDuration, skewMargin, d, maxPollInterval, kafka,
        kafkaProperties);
  }

  public LeaseConfig withMaxPollInterval(Duration d) {
    return new LeaseConfig(leaseDuration, drainDuration, skewMargin, sessionTimeout, d, kafka, kafkaProperties);
  }

  public LeaseConfig withKafka(KafkaTimeouts k) {
    return new LeaseConfig(leaseDuration, drainDuration, skewMargin, sessionTimeout, maxPollInterval, k,
        kafkaProperties);
  }

  /**
   * With these client settings passed through to every lease client ({@link KafkaClientProperties#check}
   * names the offending key as {@code kafkaProperties.<key>}; the gateways check with their own prefix first).
   */
  public LeaseConfig withKafkaProperties(Map<String, String> properties) {
    return new LeaseConfig(leaseDuration, drainDuration, skewMargin, sessionTimeout, maxPollInterval, kafka,
        properties);
  }

  /** Names the client properties' keys only: their values may be credentials (sasl.jaas.config, ssl.*.password). */
  @Override
  public String toString() {
    return "LeaseConfig[leaseDuration=" + leaseDuration + ", drainDuration=" + drainDuration + ", skewMargin="
        + skewMargin + ", sessionTimeout=" + sessionTimeout + ", maxPollInterval=" + maxPollInterval + ", kafka="
        + kafka + ", kafkaProperties=" + kafkaProperties.keySet() + "]";
  }
}
