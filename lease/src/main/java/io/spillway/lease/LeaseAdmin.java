package io.spillway.lease;

import io.spillway.lease.internal.LeaseRecords;
import io.spillway.protocol.v1.LeaseAdminCommand;
import io.spillway.protocol.v1.LeaseControl;
import io.spillway.protocol.v1.RevokeLease;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Sends center admins' orders to the lease leader, through one producer shared by every order and
 * every admin (the actor travels in each order). The outcome is in the lease log (a revoked lease turns
 * DRAINING, then RELEASED or REVOKED); a command about a lease that is not GRANTED is ignored.
 *
 * <p>Thread-safe. {@link #revoke} blocks its caller (at most its timeout); call it from a worker thread,
 * never from an event loop.
 */
public final class LeaseAdmin implements AutoCloseable {

  private final String defaultAdmin;
  private final KafkaProducer<String, byte[]> producer;
  private volatile byte[] signingKey;

  /**
   * @param defaultAdmin who gives the orders of {@link #revoke(String, String, Duration)}
   * @param timeouts bound the producer's blocking and waiting
   */
  public LeaseAdmin(String bootstrapServers, String defaultAdmin, KafkaTimeouts timeouts) {
    this(bootstrapServers, defaultAdmin, timeouts, java.util.Map.of());
  }

  /** @param security client security settings ({@link KafkaClientProperties}) */
  public LeaseAdmin(String bootstrapServers, String defaultAdmin, KafkaTimeouts timeouts,
      java.util.Map<String, String> security) {
    this.defaultAdmin = Objects.requireNonNull(defaultAdmin, "defaultAdmin");
    this.producer = new KafkaProducer<>(LeaseRecords.producerProps(
        Objects.requireNonNull(bootstrapServers, "bootstrapServers"), "lease-admin", timeouts,
        KafkaClientProperties.check("", security)));
  }

  /**
   * Signs every order with the admin key ({@link LeaseSigning#adminKey}), so a leader that checks
   * signatures obeys them.
   */
  public LeaseAdmin signWith(byte[] adminKey) {
    if (adminKey.length < LeaseSigning.MIN_SECRET_BYTES) {
      throw new IllegalArgumentException("the admin signing key has " + adminKey.length + " bytes; at least "
          + LeaseSigning.MIN_SECRET_BYTES + " are needed");
    }
    this.signingKey = adminKey.clone();
    return this;
  }

  /** With the default Kafka timeouts. */
  public LeaseAdmin(String bootstrapServers, String defaultAdmin) {
    this(bootstrapServers, defaultAdmin, KafkaTimeouts.defaults());
  }

  /** {@link #revoke(String, String, String, Duration)} by the default admin. */
  public void revoke(String leaseId, String reason, Duration timeout)
      throws TimeoutException, ExecutionException, InterruptedException {
    revoke(defaultAdmin, leaseId, reason, timeout);
  }

  /**
   * Orders a GRANTED lease to drain; waits until the order is in Kafka (not until it is applied).
   *
   * @param admin who gives the order, recorded in the lease's reason
   */
  public void revoke(String admin, String leaseId, String reason, Duration timeout)
      throws TimeoutException, ExecutionException, InterruptedException {
    LeaseControl control = LeaseControl.newBuilder().setAdmin(LeaseAdminCommand.newBuilder()
        .setVersion(LeaseRecords.VERSION)
        .setAdmin(Objects.requireNonNull(admin, "admin"))
        .setRevoke(RevokeLease.newBuilder().setLeaseId(leaseId).setReason(reason))).build();
    ProducerRecord<String, byte[]> record = new ProducerRecord<>(LeaseTopics.RENEWALS, leaseId,
        control.toByteArray());
    byte[] key = signingKey;
    if (key != null) {
      LeaseSigning.sign(key, record.topic(), record.key(), record.value(), record.headers());
    }
    producer.send(record).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }
}
