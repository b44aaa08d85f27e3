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
 * Sends center admins' orders to the lease leader. The outcome is in the lease log (a revoked lease
 * turns DRAINING, then RELEASED or REVOKED); a command about a lease that is not GRANTED is ignored.
 */
public final class LeaseAdmin implements AutoCloseable {

  private final String admin;
  private final KafkaProducer<String, byte[]> producer;

  /** @param admin who gives the orders, recorded in the lease's reason */
  public LeaseAdmin(String bootstrapServers, String admin) {
    this.admin = Objects.requireNonNull(admin, "admin");
    this.producer = new KafkaProducer<>(LeaseRecords.producerProps(bootstrapServers, "lease-admin"));
  }

  /** Orders a GRANTED lease to drain; waits until the order is in Kafka (not until it is applied). */
  public void revoke(String leaseId, String reason, Duration timeout)
      throws TimeoutException, ExecutionException, InterruptedException {
    LeaseControl control = LeaseControl.newBuilder().setAdmin(LeaseAdminCommand.newBuilder()
        .setVersion(LeaseRecords.VERSION)
        .setAdmin(admin)
        .setRevoke(RevokeLease.newBuilder().setLeaseId(leaseId).setReason(reason))).build();
    producer.send(new ProducerRecord<>(LeaseTopics.RENEWALS, leaseId, control.toByteArray()))
        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }
}
