package io.spillway.gateway.app;

import io.smallrye.config.WithDefault;
import io.spillway.config.Doc;
import io.spillway.lease.KafkaTimeouts;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The {@code kafka.*} keys of a gateway: how long a call of its lease producers may block or wait (the
 * edge's lease client; the center's leader and admin orders).
 */
public interface KafkaGroup {

  @Doc(value = "a Java properties file of Kafka client security settings for every lease client of this "
      + "gateway (on the center: the leader, the log view, admin orders, topic creation, the console's "
      + "reader): `security.protocol`, `sasl.*`, `ssl.*` only, checked at start; unset: plaintext "
      + "([security.md](security.md#center-admission-and-kafka-acls))", type = "path")
  Optional<Path> propertiesFile();

  @Doc("the longest one call of a lease producer blocks waiting for Kafka metadata or buffer space: on the "
      + "edge a send, on the lease client's own sender thread (never a caller's), after which the request, "
      + "renewal or release fails; on the center the leader's send, `initTransactions` and "
      + "`commitTransaction`, and an admin order's send (a leader whose `initTransactions` times out tries "
      + "again at its next poll)")
  @WithDefault(KafkaTimeouts.DEFAULT_MAX_BLOCK)
  Duration maxBlock();

  @Doc("how long a lease producer waits for one broker response")
  @WithDefault(KafkaTimeouts.DEFAULT_REQUEST)
  Duration requestTimeout();

  @Doc("the longest a lease record (request, renewal, release, grant, admin order) may take to be "
      + "acknowledged, retries included; at least `request-timeout`")
  @WithDefault(KafkaTimeouts.DEFAULT_DELIVERY)
  Duration deliveryTimeout();

  /**
   * These keys as the lease producers' timeouts.
   *
   * @param prefix the keys' prefix, for messages (e.g. {@code spillway.center.kafka.})
   * @throws IllegalArgumentException naming the key, the value and what is accepted
   */
  default KafkaTimeouts timeouts(String prefix) {
    return KafkaTimeouts.fromKeys(prefix, maxBlock(), requestTimeout(), deliveryTimeout());
  }
}
