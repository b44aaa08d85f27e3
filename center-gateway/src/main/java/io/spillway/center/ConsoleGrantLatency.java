package io.spillway.center;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.spillway.console.PoolSampler;
import io.spillway.lease.LeaseTopics;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseRequest;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * Feeds {@link LeaseGrantTimes} for the console: a consumer without a group reads the lease request
 * topic and the lease log from their ends at start-up, on a daemon thread; the console's sampler takes
 * the mean grant latency each sample. It only reads: the lease leader and the edges never see it.
 */
@Singleton
public class ConsoleGrantLatency {
  private static final Logger LOG = Logger.getLogger(ConsoleGrantLatency.class);

  private final CenterConfig config;
  private final LeaseGrantTimes times = new LeaseGrantTimes();
  private volatile KafkaConsumer<String, byte[]> consumer;
  private volatile boolean stopped;

  @Inject
  public ConsoleGrantLatency(CenterConfig config) {
    this.config = config;
  }

  @Produces
  @Singleton
  PoolSampler.GrantLatency grantLatency() {
    return times;
  }

  void start(@Observes StartupEvent event) {
    Thread t = new Thread(this::run, "spillway-console-grant-latency");
    t.setDaemon(true);
    t.start();
  }

  private void run() {
    Map<String, Object> props = new java.util.HashMap<>(CenterApp.leaseConfig(config).kafkaProperties());
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "spillway-console-" + config.name());
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props, new StringDeserializer(),
        new ByteArrayDeserializer())) {
      consumer = c;
      if (stopped) {
        return;
      }
      List<TopicPartition> parts = new ArrayList<>();
      for (String topic : List.of(LeaseTopics.REQUESTS, LeaseTopics.LOG)) {
        c.partitionsFor(topic, Duration.ofSeconds(30))
            .forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
      }
      c.assign(parts);
      c.seekToEnd(parts);
      while (!stopped) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
          if (r.value() == null) {
            continue;
          }
          try {
            if (r.topic().equals(LeaseTopics.REQUESTS)) {
              times.onRequest(LeaseRequest.parseFrom(r.value()));
            } else {
              times.onLease(Lease.parseFrom(r.value()));
            }
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            // The lease manager reports records that do not parse; the console skips them.
          }
        }
      }
    } catch (WakeupException e) {
      // stopping
    } catch (RuntimeException e) {
      LOG.warnf(e, "console: lease grant latency is not measured (reading %s and %s failed)",
          LeaseTopics.REQUESTS, LeaseTopics.LOG);
    }
  }

  void stop(@Observes ShutdownEvent event) {
    stopped = true;
    KafkaConsumer<String, byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
  }
}
