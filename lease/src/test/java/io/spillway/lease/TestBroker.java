package io.spillway.lease;

import io.spillway.kafka.EmbeddedKafka;
import java.util.Locale;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The real Kafka broker a lease test runs against: a Testcontainers Kafka container where a Docker
 * engine answers, and otherwise the embedded KRaft broker ({@link EmbeddedKafka}). Never a mock.
 * {@code SPILLWAY_TEST_KAFKA=embedded} or {@code docker} forces one.
 */
public final class TestBroker implements AutoCloseable {

  /** The image of the container broker: the same Kafka release as the embedded one. */
  static final String IMAGE = "apache/kafka:4.1.0";

  private final EmbeddedKafka embedded;
  private final KafkaContainer container;

  private TestBroker(EmbeddedKafka embedded, KafkaContainer container) {
    this.embedded = embedded;
    this.container = container;
  }

  public static TestBroker create() {
    String forced = System.getenv().getOrDefault("SPILLWAY_TEST_KAFKA", "auto").toLowerCase(Locale.ROOT);
    boolean docker = switch (forced) {
      case "docker" -> true;
      case "embedded" -> false;
      default -> dockerAnswers();
    };
    if (docker) {
      // Short group timeouts, as the embedded broker has, so failover tests take seconds.
      return new TestBroker(null, new KafkaContainer(IMAGE)
          .withEnv("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS", "1000")
          .withEnv("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"));
    }
    return new TestBroker(new EmbeddedKafka(), null);
  }

  private static boolean dockerAnswers() {
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  /** Starts the broker; returns its bootstrap servers. */
  public String start() {
    if (container != null) {
      container.start();
      return container.getBootstrapServers();
    }
    return embedded.start();
  }

  public void stop() {
    if (container != null) {
      container.stop();
    } else {
      embedded.stop();
    }
  }

  @Override
  public void close() {
    stop();
  }
}
