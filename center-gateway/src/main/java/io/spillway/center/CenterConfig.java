package io.spillway.center;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.spillway.config.Doc;
import io.spillway.gateway.app.HeartbeatGroup;
import io.spillway.gateway.app.KafkaGroup;
import io.spillway.gateway.app.LimitsGroup;
import io.spillway.lease.LeaseConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Every {@code spillway.center.*} key, declared once: its {@link Doc} is its row in the "Center gateway"
 * table of docs/configuration.md, which {@code ConfigurationPage} generates. Durations take {@code 500ms}, {@code 3s}, {@code 1m} or ISO-8601.
 */
@ConfigMapping(prefix = "spillway.center")
public interface CenterConfig {

  @Doc(value = "the gateway's name, reported to nodes and in logs",
      type = "name")
  @WithDefault("center")
  String name();

  @Doc(value = "the pool it serves, reported to clients in `DeviceInfo.pool`; the center's nodes "
          + "register with `--pool` set to it",
      type = "name")
  @WithDefault("center")
  String pool();

  @Doc(value = "this replica's member id in the lease leader election, written as `granted_by` on the "
          + "lease log; unique per replica",
      type = "name",
      defaultText = "the name")
  Optional<String> memberId();

  /** The gRPC server edges and GPU nodes connect to. */
  Grpc grpc();

  /** TLS on the gRPC server and on the connections to GPU nodes; off when not set. */
  Tls tls();

  /** Node liveness. */
  HeartbeatGroup heartbeat();

  /** What one client connection, stream or frame may take of the gateway. */
  LimitsGroup limits();


  @Doc(value = "Kafka bootstrap servers of the lease topics",
      type = "host:port,...")
  @WithDefault("127.0.0.1:9092")
  String kafkaBootstrap();

  @Doc("replication factor of the lease topics when this replica creates them at start "
      + "(`LeaseTopics.ensure`; existing topics are left as they are)")
  @WithDefault("1")
  short kafkaReplicationFactor();

  @Doc("how long a grant or a renewal holds capacity; the same default as the edge's "
      + "`spillway.edge.spill.lease-duration`")
  @WithDefault(LeaseConfig.DEFAULT_LEASE_DURATION)
  Duration leaseDuration();

  @Doc("how long a revoked lease stays DRAINING before it is REVOKED")
  @WithDefault(LeaseConfig.DEFAULT_DRAIN_DURATION)
  Duration drainDuration();

  @Doc("how long before its deadline an edge stops using a lease; shorter than `lease-duration`; "
      + "the same default as the edge's")
  @WithDefault(LeaseConfig.DEFAULT_SKEW_MARGIN)
  Duration skewMargin();

  @Doc("the leader group's session timeout: how long a silently dead leader keeps leadership")
  @WithDefault(LeaseConfig.DEFAULT_SESSION_TIMEOUT)
  Duration sessionTimeout();

  @Doc("a leader stuck longer than this between polls is deposed (then fenced if it writes)")
  @WithDefault(LeaseConfig.DEFAULT_MAX_POLL_INTERVAL)
  Duration maxPollInterval();

  /** Bounds on the blocking and waiting of the center's lease producers (leader, admin orders). */
  KafkaGroup kafka();

  @Doc("refuse a session whose call proves no edge (set with mutual TLS); a proven peer must be the lease's "
      + "edge either way ([security.md](security.md#center-admission-and-kafka-acls))")
  @WithDefault("false")
  boolean requireEdgeIdentity();

  @Doc(value = "a file of one line of base64 (at least 32 bytes): the center secret lease records are signed "
      + "under; the leader then ignores requests, renewals, releases and admin orders not signed by their "
      + "writer; unset: unsigned", type = "path")
  Optional<Path> leaseSigningSecretFile();

  /** When this replica joins the lease leader election. */
  Leasing leasing();

  interface Grpc {
    @Doc(value = "address the gRPC session and registration services listen on",
        type = "address")
    @WithDefault("127.0.0.1")
    String host();

    @Doc(value = "port of the session service (edges open spilled sessions here: their "
            + "`spillway.edge.spill.center`) and of node registration; 0 picks a free one, printed as "
            + "`READY host:port`",
        type = "port")
    @WithDefault("7071")
    int port();
  }

  interface Leasing {
    @Doc("nodes that must be up before this replica joins the lease election")
    @WithDefault("1")
    int minNodes();

    @Doc("once `min-nodes` are up, how long to wait for the rest of the center's nodes before "
        + "joining; the leader grants leases only on the cards registered when it joined")
    @WithDefault("5s")
    Duration delay();
  }

  /** TLS on every hop: the gateway's certificate, key and trusted CA, PEM files followed as they rotate. */
  interface Tls {
    @Doc(value = "PEM certificate chain of this gateway, naming it in a URI SAN "
            + "(`spillway://center/<name>?pool=<pool>`, docs/security.md); with `key` and `ca`, the gRPC server, the "
            + "connections to GPU nodes and node registration use TLS, and plaintext is "
            + "refused. Read again when it changes (cert-manager rotation)",
        type = "path")
    Optional<String> cert();

    @Doc(value = "PEM private key of `cert` (PKCS#8, EC or RSA)", type = "path")
    Optional<String> key();

    @Doc(value = "PEM certificates of the CA trusted for edges' and nodes' certificates",
        type = "path")
    Optional<String> ca();

    @Doc("whether a client must present a certificate to connect at all; only edges and GPU nodes call "
        + "a center, and both have one")
    @WithDefault("true")
    boolean requireClientCertificates();
  }
}
