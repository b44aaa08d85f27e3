package io.spillway.lease.internal;

import io.spillway.lease.KafkaTimeouts;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseState;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Schema version, state predicates and client settings shared by the lease classes. */
public final class LeaseRecords {

  /** The record schema version this code writes and understands. */
  public static final int VERSION = 1;

  private LeaseRecords() {}

  /** GRANTED or DRAINING: the lease holds center capacity. */
  public static boolean holdsCapacity(LeaseState state) {
    return state == LeaseState.GRANTED || state == LeaseState.DRAINING;
  }

  /** RELEASED, EXPIRED, REVOKED or REFUSED: the lease will never change again. */
  public static boolean isTerminal(LeaseState state) {
    return state == LeaseState.RELEASED || state == LeaseState.EXPIRED
        || state == LeaseState.REVOKED || state == LeaseState.REFUSED;
  }

  public static String describe(Lease lease) {
    return lease.getLeaseId() + " e" + lease.getEpoch() + " " + lease.getState() + " of "
        + lease.getEdge();
  }

  /** A consumer of string keys and byte values, reading only committed transactions. */
  public static Properties consumerProps(String bootstrapServers, String clientId) {
    return consumerProps(bootstrapServers, clientId, Map.of());
  }

  /**
   * As {@link #consumerProps(String, String)}, over the operator's {@code security} settings (checked by
   * {@code KafkaClientProperties}: security protocol, SASL and SSL only, so they cannot override these).
   */
  public static Properties consumerProps(String bootstrapServers, String clientId, Map<String, String> security) {
    Properties p = new Properties();
    p.putAll(security);
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return p;
  }

  /**
   * An idempotent producer of string keys and byte values, acks=all, whose calls block and wait no
   * longer than {@code timeouts} say.
   */
  public static Properties producerProps(String bootstrapServers, String clientId, KafkaTimeouts timeouts) {
    return producerProps(bootstrapServers, clientId, timeouts, Map.of());
  }

  /** As {@link #producerProps(String, String, KafkaTimeouts)}, over the operator's {@code security} settings. */
  public static Properties producerProps(String bootstrapServers, String clientId, KafkaTimeouts timeouts,
      Map<String, String> security) {
    Properties p = new Properties();
    p.putAll(security);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(timeouts.maxBlock().toMillis()));
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(timeouts.request().toMillis()));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(timeouts.delivery().toMillis()));
    return p;
  }
}
