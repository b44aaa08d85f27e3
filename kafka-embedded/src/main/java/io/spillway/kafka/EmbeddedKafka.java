package io.spillway.kafka;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * One Kafka broker in this JVM, in KRaft combined mode (broker and controller in one node), listening on
 * 127.0.0.1 only. For {@code spillway up} and for tests: real Kafka, no Docker.
 *
 * <p>Configured for a single node: internal topics (offsets, transaction state) with replication factor
 * 1 and min ISR 1, no initial rebalance delay (a consumer group forms as soon as its members join), and
 * a group minimum session timeout of 1 s so a dead lease leader is noticed quickly.
 *
 * <p>Not thread-safe: start and stop from one thread. {@link #stop()} deletes the data directory only if
 * this instance created it.
 */
public final class EmbeddedKafka implements AutoCloseable {

  private final Map<String, String> overrides;
  private int port;
  private KafkaRaftServer server;
  private Path dataDir;
  private boolean ownsDataDir;
  private String bootstrapServers;

  public EmbeddedKafka() {
    this(Map.of());
  }

  /** @param overrides broker configs applied over the defaults described above */
  public EmbeddedKafka(Map<String, String> overrides) {
    this.overrides = Map.copyOf(overrides);
  }

  /** Listens for clients on {@code port} instead of a free one (the controller still takes a free one). */
  public EmbeddedKafka onPort(int port) {
    this.port = port;
    return this;
  }

  /** Starts in a fresh temporary directory, deleted again by {@link #stop()}. */
  public String start() {
    try {
      Path dir = Files.createTempDirectory("spillway-kafka-");
      ownsDataDir = true;
      return startIn(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory for Kafka", e);
    }
  }

  /**
   * Starts with its logs under {@code dataDir}, formatting it on first use and reusing what is there
   * otherwise (a restart keeps topics and offsets; ports are picked afresh).
   *
   * @return the bootstrap servers, {@code 127.0.0.1:port}
   */
  public String start(Path dataDir) {
    ownsDataDir = false;
    return startIn(dataDir);
  }

  private String startIn(Path dir) {
    if (server != null) {
      throw new IllegalStateException("already started at " + bootstrapServers);
    }
    Objects.requireNonNull(dir, "dataDir");
    this.dataDir = dir.toAbsolutePath();
    int brokerPort = port > 0 ? port : freePort();
    int controllerPort = freePort();
    Path logDir = dataDir.resolve("kraft-logs");
    Properties props = new Properties();
    props.put("process.roles", "broker,controller");
    props.put("node.id", "1");
    props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    props.put("listeners",
        "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
    props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
    props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    props.put("controller.listener.names", "CONTROLLER");
    props.put("inter.broker.listener.name", "PLAINTEXT");
    props.put("log.dirs", logDir.toString());
    props.put("num.partitions", "1");
    props.put("offsets.topic.replication.factor", "1");
    props.put("offsets.topic.num.partitions", "1");
    props.put("transaction.state.log.replication.factor", "1");
    props.put("transaction.state.log.min.isr", "1");
    props.put("transaction.state.log.num.partitions", "1");
    props.put("group.initial.rebalance.delay.ms", "0");
    props.put("group.min.session.timeout.ms", "1000");
    props.put("auto.create.topics.enable", "false");
    props.put("log.cleaner.dedupe.buffer.size", String.valueOf(2 * 1024 * 1024));
    props.put("share.coordinator.state.topic.replication.factor", "1");
    props.put("share.coordinator.state.topic.min.isr", "1");
    props.putAll(overrides);
    KafkaConfig config = KafkaConfig.fromProps(props, false);
    try {
      if (!Files.exists(logDir.resolve("meta.properties"))) {
        Files.createDirectories(logDir);
        new Formatter()
            .setPrintStream(new PrintStream(PrintStream.nullOutputStream()))
            .setNodeId(1)
            .setClusterId(Uuid.randomUuid().toString())
            .setDirectories(List.of(logDir.toString()))
            .setMetadataLogDirectory(logDir.toString())
            .setReleaseVersion(MetadataVersion.latestProduction())
            .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
            .setControllerListenerName("CONTROLLER")
            .setIgnoreFormatted(true)
            .run();
      }
      server = new KafkaRaftServer(config, Time.SYSTEM);
      server.startup();
    } catch (Exception e) {
      stopQuietly();
      throw new IllegalStateException("embedded Kafka failed to start in " + dataDir + ": " + e, e);
    }
    bootstrapServers = "127.0.0.1:" + brokerPort;
    return bootstrapServers;
  }

  /** {@code 127.0.0.1:port}; only while started. */
  public String bootstrapServers() {
    if (server == null) {
      throw new IllegalStateException("not started");
    }
    return bootstrapServers;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** Stops the broker and, if {@link #start()} created the data directory, deletes it. Idempotent. */
  public void stop() {
    stopQuietly();
  }

  @Override
  public void close() {
    stop();
  }

  private void stopQuietly() {
    if (server != null) {
      try {
        server.shutdown();
        server.awaitShutdown();
      } finally {
        server = null;
      }
    }
    if (ownsDataDir && dataDir != null) {
      deleteTree(dataDir);
      ownsDataDir = false;
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Best effort: a temp directory left behind is harmless.
    }
  }

  /**
   * A port free on 127.0.0.1 now. Another process could take it before the broker binds it; the window
   * is a few milliseconds, and a failed start says which port it could not bind.
   */
  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on 127.0.0.1", e);
    }
  }
}
