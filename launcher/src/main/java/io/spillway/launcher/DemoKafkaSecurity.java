package io.spillway.launcher;

import io.spillway.kafka.EmbeddedKafka;
import io.spillway.kafka.KafkaMain;
import io.spillway.lease.LeaseAcls;
import io.spillway.lease.LeaseSigning;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The embedded broker's users, ACLs and lease signing keys for a federation that {@code spillway up}
 * starts: the broker runs {@code --secured} (SCRAM over SASL_SSL with a certificate of the run's CA,
 * or over SASL_PLAINTEXT on loopback when the federation runs without TLS; the StandardAuthorizer),
 * every center replica is Kafka user {@code center}, each edge the user of its name,
 * with the ACLs of {@link LeaseAcls}; lease records are signed under a center secret, each edge with
 * the key derived for its name ({@link LeaseSigning}). So the demo runs with the same rights as a
 * production federation. See docs/security.md.
 *
 * <p>Credentials live in files of {@code dir} (owner-readable only): passwords, each component's Kafka
 * client properties, the center secret and the edges' keys. Beside the broker's data directory when it
 * has one, so that a broker started again on that data (whose super user's credential was written when
 * it was formatted) finds the same passwords; removed on close, as the data directory is.
 */
final class DemoKafkaSecurity implements AutoCloseable {

  static final String CENTER_USER = "center";

  private final Path dir;
  /** The broker's TLS files; null: SASL_PLAINTEXT. */
  private final EmbeddedKafka.Tls tls;

  private DemoKafkaSecurity(Path dir, EmbeddedKafka.Tls tls) {
    this.dir = dir;
    this.tls = tls;
  }

  /**
   * Security files beside {@code kafkaDataDir} ({@code <data>/../kafka-security}), or in a temporary
   * directory under {@code tmp} when there is no data directory to keep.
   *
   * @param tls the broker's certificate, key and CA: clients connect over SASL_SSL trusting that CA;
   *     null: over SASL_PLAINTEXT
   */
  static DemoKafkaSecurity create(Path kafkaDataDir, Path tmp, EmbeddedKafka.Tls tls) throws IOException {
    if (kafkaDataDir != null) {
      Path d = kafkaDataDir.toAbsolutePath().resolveSibling("kafka-security");
      Files.createDirectories(d);
      return new DemoKafkaSecurity(d, tls);
    }
    Path base = tmp != null ? tmp : Path.of(System.getProperty("java.io.tmpdir"));
    Files.createDirectories(base);
    return new DemoKafkaSecurity(Files.createTempDirectory(base, "spillway-kafka-security-"), tls);
  }

  /** The broker's arguments before PORT: {@code --secured FILE}, and {@code --tls CERT KEY CA}. */
  List<String> brokerArgs() {
    List<String> args = new ArrayList<>(List.of("--secured", secretFile("broker.password", this::newPassword).toString()));
    if (tls != null) {
      args.addAll(List.of("--tls", tls.certificateChain().toAbsolutePath().toString(),
          tls.privateKey().toAbsolutePath().toString(), tls.trustedCa().toAbsolutePath().toString()));
    }
    return args;
  }

  /** The client settings of {@code user}: SASL_SSL trusting the run's CA, or SASL_PLAINTEXT without TLS. */
  private Map<String, String> clientProperties(String user, String password) {
    return tls == null ? EmbeddedKafka.clientProperties(user, password)
        : EmbeddedKafka.clientProperties(user, password, tls.trustedCa());
  }

  /**
   * Creates (or updates) the users of the center and of {@code edges}, their ACLs, and their client
   * properties and signing key files, as the broker's super user. Call once the broker serves.
   */
  void provision(String bootstrap, List<String> edges) {
    Map<String, String> superUser = clientProperties(KafkaMain.BROKER_USER, read("broker.password"));
    List<org.apache.kafka.common.acl.AclBinding> acls = new ArrayList<>(LeaseAcls.center("User:" + CENTER_USER));
    user(bootstrap, superUser, CENTER_USER);
    for (String edge : edges) {
      user(bootstrap, superUser, edge);
      acls.addAll(LeaseAcls.edge("User:" + edge));
    }
    LeaseAcls.create(bootstrap, superUser, acls);
    byte[] secret = Base64.getDecoder().decode(read(leaseSecret().getFileName().toString()));
    for (String edge : edges) {
      writeSecret(dir.resolve(edge + ".lease-key"),
          Base64.getEncoder().encodeToString(LeaseSigning.edgeKey(secret, edge)));
    }
  }

  /** The center replicas' configuration: Kafka user {@code center}, the signing secret. */
  List<String> centerProperties() {
    leaseSecret();
    return List.of("-Dspillway.center.kafka.properties-file=" + dir.resolve(CENTER_USER + ".kafka.properties"),
        "-Dspillway.center.lease-signing-secret-file=" + dir.resolve("lease-signing.secret"));
  }

  /** Edge {@code edge}'s configuration: its Kafka user and signing key. */
  List<String> edgeProperties(String edge) {
    return List.of("-Dspillway.edge.spill.kafka.properties-file=" + dir.resolve(edge + ".kafka.properties"),
        "-Dspillway.edge.spill.signing-key-file=" + dir.resolve(edge + ".lease-key"));
  }

  private Path leaseSecret() {
    return secretFile("lease-signing.secret", () -> Base64.getEncoder().encodeToString(LeaseSigning.newSecret()));
  }

  private void user(String bootstrap, Map<String, String> superUser, String name) {
    String password = read(secretFile(name + ".password", this::newPassword).getFileName().toString());
    EmbeddedKafka.upsertUser(bootstrap, superUser, name, password);
    StringBuilder props = new StringBuilder();
    clientProperties(name, password).forEach((k, v) ->
        props.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
    writeSecret(dir.resolve(name + ".kafka.properties"), props.toString().trim());
  }

  private String newPassword() {
    byte[] b = new byte[24];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** The file {@code name} of the directory, written with {@code value}'s result if it is not there yet. */
  private Path secretFile(String name, java.util.function.Supplier<String> value) {
    Path f = dir.resolve(name);
    if (!Files.exists(f)) {
      writeSecret(f, value.get());
    }
    return f;
  }

  private String read(String name) {
    try {
      return Files.readString(dir.resolve(name), StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + dir.resolve(name), e);
    }
  }

  private static void writeSecret(Path f, String text) {
    try {
      Files.deleteIfExists(f);
      Files.createFile(f);
      try {
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException notPosix) {
        // The file system's own access rules apply.
      }
      Files.writeString(f, text + "\n", StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + f, e);
    }
  }

  @Override
  public void close() {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Best effort, as for the broker's data directory.
    }
  }
}
