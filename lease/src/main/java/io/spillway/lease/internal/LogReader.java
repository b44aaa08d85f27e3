package io.spillway.lease.internal;

import io.spillway.protocol.v1.Lease;
import com.google.protobuf.InvalidProtocolBufferException;
import io.spillway.lease.LeaseTopics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/** Reads the lease log from offset 0 to its end (its last stable offset: read_committed), once. */
public final class LogReader {

  /** Sees each committed lease record in log order. */
  @FunctionalInterface
  public interface Visitor {
    /** @param lease null for a record that does not parse or has an unknown version */
    void visit(long offset, String key, Lease lease);
  }

  private LogReader() {}

  /** @return the end offset read to */
  public static long readAll(String bootstrapServers, String clientId, Duration timeout,
      Visitor visitor) throws TimeoutException {
    return readAll(bootstrapServers, Map.of(), clientId, timeout, visitor);
  }

  /** As {@link #readAll(String, String, Duration, Visitor)}, with the operator's client security settings. */
  public static long readAll(String bootstrapServers, Map<String, String> security, String clientId,
      Duration timeout, Visitor visitor) throws TimeoutException {
    TopicPartition tp = new TopicPartition(LeaseTopics.LOG, 0);
    Instant giveUp = Instant.now().plus(timeout);
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(LeaseRecords.consumerProps(bootstrapServers, clientId, security))) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      Map<TopicPartition, Long> end = consumer.endOffsets(List.of(tp), timeout);
      long endOffset = end.get(tp);
      while (consumer.position(tp, timeout) < endOffset) {
        if (Instant.now().isAfter(giveUp)) {
          throw new TimeoutException("lease log: read to offset " + consumer.position(tp)
              + " of " + endOffset + " in " + timeout);
        }
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          visitor.visit(r.offset(), r.key(), parse(r.value()));
        }
      }
      return endOffset;
    }
  }

  /** The lease in a log record, or null for a tombstone, garbage or a version this code does not know. */
  public static Lease parse(byte[] value) {
    if (value == null) {
      return null;
    }
    try {
      Lease lease = Lease.parseFrom(value);
      return lease.getVersion() == LeaseRecords.VERSION ? lease : null;
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }
}
