package io.spillway.lease;

import java.time.Duration;
import java.util.Objects;

/**
 * How long a lease producer's calls may block or wait, so that no Kafka call hangs on a broker that is
 * down: every producer of the lease classes (leader, edge client, admin) is built with these.
 *
 * @param maxBlock {@code max.block.ms}: the longest {@code send}, {@code initTransactions} or
 *     {@code commitTransaction} blocks its caller waiting for metadata or buffer space
 * @param request {@code request.timeout.ms}: how long the producer waits for one broker response
 * @param delivery {@code delivery.timeout.ms}: the longest a sent record may take to be acknowledged or
 *     failed, retries included; at least {@code request}
 */
public record KafkaTimeouts(Duration maxBlock, Duration request, Duration delivery) {

  // Defaults, declared once: in seconds for defaults(), and as the same text for the gateways'
  // configuration annotations (which need a constant).
  static final int MAX_BLOCK_SECONDS = 5;
  static final int REQUEST_SECONDS = 5;
  static final int DELIVERY_SECONDS = 10;
  /** The default {@code max.block.ms}: a lease call fails after this rather than hang. */
  public static final String DEFAULT_MAX_BLOCK = MAX_BLOCK_SECONDS + "s";
  /** The default {@code request.timeout.ms}. */
  public static final String DEFAULT_REQUEST = REQUEST_SECONDS + "s";
  /** The default {@code delivery.timeout.ms}. */
  public static final String DEFAULT_DELIVERY = DELIVERY_SECONDS + "s";

  public KafkaTimeouts {
    Objects.requireNonNull(maxBlock, "maxBlock");
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(delivery, "delivery");
    if (!positive(maxBlock) || !positive(request) || !positive(delivery)) {
      throw new IllegalArgumentException("Kafka timeouts must be positive: max block " + maxBlock + ", request "
          + request + ", delivery " + delivery);
    }
    if (delivery.compareTo(request) < 0) {
      throw new IllegalArgumentException("the Kafka delivery timeout " + delivery
          + " must be at least the request timeout " + request);
    }
  }

  /** 5 s max block, 5 s request, 10 s delivery. */
  public static KafkaTimeouts defaults() {
    return new KafkaTimeouts(Duration.ofSeconds(MAX_BLOCK_SECONDS), Duration.ofSeconds(REQUEST_SECONDS),
        Duration.ofSeconds(DELIVERY_SECONDS));
  }

  private static boolean positive(Duration d) {
    return !d.isNegative() && !d.isZero();
  }
}
