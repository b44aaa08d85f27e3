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

  /** SCRAM over SASL_PLAINTEXT or SASL_SSL, the mechanism of {@link #secured}. */
  public static final String SCRAM_MECHANISM = "SCRAM-SHA-512";

  /**
   * The PEM files of a broker's TLS listener.
   *
   * @param certificateChain its certificate, leaf first, valid for {@code 127.0.0.1}
   * @param privateKey its key, unencrypted PKCS#8 ({@code BEGIN PRIVATE KEY})
   * @param trustedCa the CA certificates clients trust, which the broker also trusts when it connects to
   *     itself (its inter-broker listener is the TLS one)
   */
  public record Tls(Path certificateChain, Path privateKey, Path trustedCa) {
    public Tls {
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(privateKey, "privateKey");
      Objects.requireNonNull(trustedCa, "trustedCa");
    }
  }

  private final Map<String, String> overrides;
  private int port;
  private String brokerUser;
  private String brokerPassword;
  private Tls tls;
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

  /**
   * Authenticates every client and authorizes every request: the client listener speaks SASL_PLAINTEXT
   * with {@value #SCRAM_MECHANISM} (loopback only: credentials are not sent in the clear, but the
   * records are), the controller listener SASL PLAIN for the broker alone, and the
   * {@code StandardAuthorizer} refuses whatever no ACL allows ({@code allow.everyone.if.no.acl.found}
   * false). {@code brokerUser} is the only super user: it is what the broker authenticates as to itself
   * and to its controller, and what creates the other users ({@link #upsertUser}) and their ACLs. Its
   * SCRAM credential is written when the data directory is formatted, so a broker restarted on the same
   * directory needs the same password.
   */
  public EmbeddedKafka secured(String brokerUser, String brokerPassword) {
    if (server != null) {
      throw new IllegalStateException("secure the broker before it starts");
    }
    this.brokerUser = requireName(brokerUser, "brokerUser");
    this.brokerPassword = requirePassword(brokerPassword);
    return this;
  }

  /**
   * Serves clients over SASL_SSL instead of SASL_PLAINTEXT: the client listener (also the inter-broker
   * one) speaks TLS with the certificate and key of {@code files}, read once at start
   * ({@code ssl.keystore.type=PEM}, {@code ssl.keystore.certificate.chain}, {@code ssl.keystore.key}),
   * and trusts {@code files.trustedCa()} ({@code ssl.truststore.type=PEM}). Clients must then trust that
   * CA ({@link #clientProperties(String, String, Path)}); one that does not fails the handshake. The
   * controller listener, which only the broker itself uses, stays SASL_PLAINTEXT on loopback. Needs
   * {@link #secured}: a TLS listener without authentication would let anyone in, encrypted.
   */
  public EmbeddedKafka withTls(Tls files) {
    if (server != null) {
      throw new IllegalStateException("give the broker its TLS files before it starts");
    }
    this.tls = Objects.requireNonNull(files, "files");
    return this;
  }

  /** True if {@link #secured} was called. */
  public boolean isSecured() {
    return brokerUser != null;
  }

  /** The security protocol of the client listener: PLAINTEXT, SASL_PLAINTEXT, or SASL_SSL with {@link #withTls}. */
  public String securityProtocol() {
    return !isSecured() ? "PLAINTEXT" : tls == null ? "SASL_PLAINTEXT" : "SASL_SSL";
  }

  /**
   * The Kafka client settings that authenticate as {@code user} to a {@link #secured} broker without
   * TLS: {@code security.protocol} (SASL_PLAINTEXT), {@code sasl.mechanism} and {@code sasl.jaas.config}.
   */
  public static Map<String, String> clientProperties(String user, String password) {
    return Map.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", SCRAM_MECHANISM,
        "sasl.jaas.config", jaas(user, password));
  }

  /**
   * The Kafka client settings that authenticate as {@code user} to a broker {@link #secured} {@link
   * #withTls with TLS}, trusting the CA certificates of the PEM file {@code trustedCa}: as {@link
   * #clientProperties(String, String)} with {@code security.protocol=SASL_SSL}, {@code
   * ssl.truststore.type=PEM} and {@code ssl.truststore.location}. Host names are verified (Kafka's
   * default): the broker's certificate names {@code 127.0.0.1}.
   */
  public static Map<String, String> clientProperties(String user, String password, Path trustedCa) {
    return Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", SCRAM_MECHANISM,
        "sasl.jaas.config", jaas(user, password), "ssl.truststore.type", "PEM",
        "ssl.truststore.location", Objects.requireNonNull(trustedCa, "trustedCa").toAbsolutePath().toString());
  }

  /** The client settings of {@code user} for this broker: with TLS if it has {@link #withTls}. */
  public Map<String, String> clientPropertiesFor(String user, String password) {
    return tls == null ? clientProperties(user, password) : clientProperties(user, password, tls.trustedCa());
  }

  private static String jaas(String user, String password) {
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + requireName(user, "user") + "\" password=\"" + requirePassword(password) + "\";";
  }

  /** The client settings of the broker's own super user; only while {@link #secured}. */
  public Map<String, String> superUserProperties() {
    if (brokerUser == null) {
      throw new IllegalStateException("the broker is not secured");
    }
    return clientPropertiesFor(brokerUser, brokerPassword);
  }

  /** Creates or changes the SCRAM credential of {@code user}, as the super user. */
  public void upsertUser(String user, String password) {
    upsertUser(bootstrapServers(), superUserProperties(), user, password);
  }

  /**
   * Creates or changes the SCRAM credential of {@code user} on the broker at {@code bootstrapServers}, as the
   * principal {@code superUser} authenticates (a super user of a {@link #secured} broker).
   */
  public static void upsertUser(String bootstrapServers, Map<String, String> superUser, String user,
      String password) {
    Properties p = new Properties();
    p.putAll(superUser);
    p.put("bootstrap.servers", bootstrapServers);
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(p)) {
      admin.alterUserScramCredentials(List.of(new org.apache.kafka.clients.admin.UserScramCredentialUpsertion(
          requireName(user, "user"), new org.apache.kafka.clients.admin.ScramCredentialInfo(
              org.apache.kafka.clients.admin.ScramMechanism.SCRAM_SHA_512, 4096), requirePassword(password))))
          .all().get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("cannot create Kafka user " + user + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted creating Kafka user " + user, e);
    }
  }

  /** JAAS quoting has no escape: a name or password must not carry a quote or a backslash. */
  private static String requireName(String name, String what) {
    Objects.requireNonNull(name, what);
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
      throw new IllegalArgumentException(what + " '" + name + "' must be 1 to 64 letters, digits, '.', '_' or '-'");
    }
    return name;
  }

  private static String requirePassword(String password) {
    Objects.requireNonNull(password, "password");
    if (password.length() < 16 || !password.matches("[A-Za-z0-9._~+/=-]+")) {
      throw new IllegalArgumentException("a Kafka password must be at least 16 characters of letters, digits"
          + " and ._~+/=-");
    }
    return password;
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
    if (tls != null && !isSecured()) {
      throw new IllegalStateException("a TLS listener needs authentication: call secured(...) too");
    }
    // The listener is named after its protocol: the listener.name.<name>.* settings below use it.
    String client = securityProtocol();
    String controller = isSecured() ? "SASL_PLAINTEXT" : "PLAINTEXT";
    props.put("listeners",
        client + "://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
    props.put("advertised.listeners", client + "://127.0.0.1:" + brokerPort);
    props.put("listener.security.protocol.map", client + ":" + client + ",CONTROLLER:" + controller);
    props.put("controller.listener.names", "CONTROLLER");
    props.put("inter.broker.listener.name", client);
    if (isSecured()) {
      secure(props, client.toLowerCase(java.util.Locale.ROOT));
    }
    if (tls != null) {
      tls(props);
    }
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
            .setScramArguments(isSecured()
                ? List.of(SCRAM_MECHANISM + "=[name=" + brokerUser + ",password=" + brokerPassword + "]")
                : List.of())
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

  private void tls(Properties props) {
    try {
      props.put("ssl.keystore.type", "PEM");
      props.put("ssl.keystore.certificate.chain", Files.readString(tls.certificateChain()).strip());
      props.put("ssl.keystore.key", Files.readString(tls.privateKey()).strip());
      props.put("ssl.truststore.type", "PEM");
      props.put("ssl.truststore.certificates", Files.readString(tls.trustedCa()).strip());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the broker's TLS files " + tls + ": " + e.getMessage(), e);
    }
  }

  private void secure(Properties props, String listener) {
    String plain = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + brokerUser
        + "\" password=\"" + brokerPassword + "\" user_" + brokerUser + "=\"" + brokerPassword + "\";";
    String scram = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + brokerUser
        + "\" password=\"" + brokerPassword + "\";";
    // The controller listener knows the broker alone, with a static PLAIN credential: it must answer
    // before the metadata (and so any SCRAM credential) is loaded.
    props.put("sasl.mechanism.controller.protocol", "PLAIN");
    props.put("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
    props.put("listener.name.controller.plain.sasl.jaas.config", plain);
    props.put("sasl.mechanism.inter.broker.protocol", SCRAM_MECHANISM);
    props.put("listener.name." + listener + ".sasl.enabled.mechanisms", SCRAM_MECHANISM);
    props.put("listener.name." + listener + ".scram-sha-512.sasl.jaas.config", scram);
    props.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    props.put("super.users", "User:" + brokerUser);
    props.put("allow.everyone.if.no.acl.found", "false");
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
