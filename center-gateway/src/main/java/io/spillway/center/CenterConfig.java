package io.spillway.center;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.spillway.lease.KafkaTimeouts;
import io.spillway.lease.LeaseConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Every {@code spillway.center.*} key, declared once. The reference table is the "Center gateway"
 * section of docs/configuration.md; {@code CenterConfigDocTest} fails when a key or default here and a
 * row there disagree. Durations take {@code 500ms}, {@code 3s}, {@code 1m} or ISO-8601.
 */
@ConfigMapping(prefix = "spillway.center")
public interface CenterConfig {

  /** The gateway's name, reported to nodes and in logs. */
  @WithDefault("center")
  String name();

  /** The pool this gateway serves, reported to clients in DeviceInfo.pool. */
  @WithDefault("center")
  String pool();

  /** This replica's member id in the lease leader election; the name when not set. */
  Optional<String> memberId();

  /** The gRPC server edges and GPU nodes connect to. */
  Grpc grpc();

  /** Node liveness. */
  Heartbeat heartbeat();

  /** Kafka bootstrap servers of the lease topics. */
  @WithDefault("127.0.0.1:9092")
  String kafkaBootstrap();

  /** Replication factor of the lease topics when this replica creates them. */
  @WithDefault("1")
  short kafkaReplicationFactor();

  /** How long a grant or a renewal holds capacity. */
  @WithDefault(LeaseConfig.DEFAULT_LEASE_DURATION)
  Duration leaseDuration();

  /** How long a revoked lease stays DRAINING before it is REVOKED. */
  @WithDefault(LeaseConfig.DEFAULT_DRAIN_DURATION)
  Duration drainDuration();

  /** How long before a deadline an edge stops using a lease; shorter than the lease duration. */
  @WithDefault(LeaseConfig.DEFAULT_SKEW_MARGIN)
  Duration skewMargin();

  /** Leader group session timeout: how long a silently dead leader keeps leadership. */
  @WithDefault(LeaseConfig.DEFAULT_SESSION_TIMEOUT)
  Duration sessionTimeout();

  /** A leader stuck longer than this between polls is deposed. */
  @WithDefault(LeaseConfig.DEFAULT_MAX_POLL_INTERVAL)
  Duration maxPollInterval();

  /** Bounds on the blocking and waiting of the center's lease producers (leader, admin orders). */
  Kafka kafka();

  /** Refuse a session whose call proves no edge (set when the center requires mutual TLS of its clients). */
  @WithDefault("false")
  boolean requireEdgeIdentity();

  /**
   * A file of one line of base64 (at least 32 bytes): the center secret lease records are signed under;
   * the leader then ignores requests, renewals and releases not signed by the edge they name. Unset: unsigned.
   */
  Optional<Path> leaseSigningSecretFile();

  /** When this replica joins the lease leader election. */
  Leasing leasing();

  interface Grpc {
    /** Address the session and registration services listen on. */
    @WithDefault("127.0.0.1")
    String host();

    /** Port of the session and registration services; 0 picks a free one. */
    @WithDefault("7071")
    int port();
  }

  interface Heartbeat {
    /** How often nodes are asked to heartbeat. */
    @WithDefault("1s")
    Duration interval();

    /** How long a node may stay silent before its GPUs leave the pool; longer than the interval. */
    @WithDefault("3s")
    Duration timeout();
  }

  interface Kafka {
    /**
     * A Java properties file of Kafka client security settings (security.protocol, sasl.*, ssl.*) for every
     * lease client of this replica; unset: plaintext.
     */
    Optional<Path> propertiesFile();

    /** The longest a Kafka send, initTransactions or commitTransaction blocks its thread. */
    @WithDefault(KafkaTimeouts.DEFAULT_MAX_BLOCK)
    Duration maxBlock();

    /** How long a producer waits for one broker response. */
    @WithDefault(KafkaTimeouts.DEFAULT_REQUEST)
    Duration requestTimeout();

    /** The longest a lease record or admin order may take to be acknowledged, retries included. */
    @WithDefault(KafkaTimeouts.DEFAULT_DELIVERY)
    Duration deliveryTimeout();
  }

  interface Leasing {
    /** Nodes that must be up before the replica joins the election. */
    @WithDefault("1")
    int minNodes();

    /** How long to wait, once min-nodes are up, for more nodes before the lease inventory is fixed. */
    @WithDefault("5s")
    Duration delay();
  }
}
