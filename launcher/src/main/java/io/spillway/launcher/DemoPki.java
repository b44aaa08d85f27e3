package io.spillway.launcher;

import io.spillway.client.SpillwayClient;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.Pki;
import io.spillway.security.tls.TlsFiles;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * The throwaway certificate authority of one {@code spillway up} or {@code demo} run: a CA made for the
 * run, and a certificate for each component it starts, naming it as docs/security.md says, under
 * {@code <logs>/pki/<component>/} (keys readable by their owner only). Every component then runs with
 * TLS on, and components authenticate each other with these certificates; clients trust {@link #ca()}.
 */
public final class DemoPki {
  private final Pki pki;
  private final Path dir;
  private final Path ca;

  private DemoPki(Pki pki, Path dir) {
    this.pki = pki;
    this.dir = dir;
    this.ca = pki.writeCa(dir.resolve(Pki.CA_FILE));
  }

  /** A new CA for a run whose files go under {@code dir}. */
  public static DemoPki create(Path dir) {
    return new DemoPki(Pki.create("spillway run CA " + Instant.now()), dir);
  }

  /** The CA's certificate (PEM): what a client of this run trusts. */
  public Path ca() {
    return ca;
  }

  /** Issues the certificate of component {@code name} with identity {@code id}, valid for {@code host}. */
  TlsFiles issue(String name, PeerIdentity id, String host) {
    return pki.issue(dir.resolve(name), name, id, List.of(host));
  }

  /** {@code -Dspillway.center.tls.*} (and edge identity required) for center gateway {@code name} of pool {@code pool}. */
  List<String> centerProperties(String name, String pool, String host) {
    List<String> props = new java.util.ArrayList<>(
        properties("spillway.center.tls.", issue(name, new PeerIdentity(Role.CENTER, name, pool), host)));
    // Every caller now proves who it is: a session must come from an edge's certificate.
    props.add("-Dspillway.center.require-edge-identity=true");
    return props;
  }

  /** {@code -Dspillway.edge.tls.*} for edge {@code name} of pool {@code pool}. */
  List<String> edgeProperties(String name, String pool, String host) {
    return properties("spillway.edge.tls.", issue(name, new PeerIdentity(Role.EDGE, name, pool), host));
  }

  /**
   * The embedded Kafka broker's certificate, key and CA, valid for {@code host}. It names no Spillway
   * component (no URI): Kafka clients check the CA and the host name only.
   */
  io.spillway.kafka.EmbeddedKafka.Tls kafkaBroker(String host) {
    TlsFiles f = pki.issue(dir.resolve("kafka"), "kafka", List.of(), List.of(host), Pki.KeyType.EC,
        Pki.DEFAULT_VALIDITY);
    return new io.spillway.kafka.EmbeddedKafka.Tls(f.cert(), f.key(), f.trustedCa());
  }

  /** {@code --tls-cert}, {@code --tls-key}, {@code --tls-ca} for GPU node {@code id} of {@code pool}. */
  List<String> nodeArgs(String id, String pool, String host) {
    TlsFiles f = issue(id, new PeerIdentity(Role.NODE, id, pool), host);
    return List.of("--tls-cert", f.cert().toString(), "--tls-key", f.key().toString(), "--tls-ca",
        f.trustedCa().toString());
  }

  /** A client of {@code target} that trusts this run's CA (and presents no certificate, as a tenant). */
  public SpillwayClient.Builder client(String target) {
    return SpillwayClient.builder(target).trustedCa(ca);
  }

  private static List<String> properties(String prefix, TlsFiles f) {
    return List.of("-D" + prefix + "cert=" + f.cert(), "-D" + prefix + "key=" + f.key(),
        "-D" + prefix + "ca=" + f.trustedCa());
  }
}
