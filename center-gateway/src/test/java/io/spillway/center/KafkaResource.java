package io.spillway.center;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.spillway.kafka.EmbeddedKafka;
import java.util.Map;

/** One embedded KRaft broker for the test class; points {@code spillway.center.kafka-bootstrap} at it. */
public class KafkaResource implements QuarkusTestResourceLifecycleManager {
  private EmbeddedKafka kafka;

  @Override
  public Map<String, String> start() {
    kafka = new EmbeddedKafka();
    return Map.of("spillway.center.kafka-bootstrap", kafka.start());
  }

  @Override
  public void stop() {
    if (kafka != null) {
      kafka.close();
    }
  }
}
