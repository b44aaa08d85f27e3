package io.spillway.edge;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * Every {@code spillway.edge.*} key, declared once. The reference table is the "Edge gateway" section of
 * docs/configuration.md; {@code EdgeConfigDocTest} fails when a key or default here and a row there
 * disagree. Durations take {@code 500ms}, {@code 3s}, {@code 1m} or ISO-8601; memory sizes take bytes or
 * a number with {@code K}, {@code M}, {@code G}, {@code T} (powers of 1024).
 */
@ConfigMapping(prefix = "spillway.edge")
public interface EdgeConfig {

  /** The gateway's name, reported to nodes, in session ids and in logs. */
  @WithDefault("edge")
  String name();

  /** The pool this gateway serves; {@code edge/<name>} when not set. */
  Optional<String> pool();

  /** The gRPC server clients and GPU nodes connect to. */
  Grpc grpc();

  /** Node liveness. */
  Heartbeat heartbeat();

  /** The quota of every tenant without an entry under {@code tenants}. */
  Quota defaultQuota();

  /** Quotas of named tenants, replacing the default quota for them. */
  Map<String, Quota> tenants();

  /** Spilling sessions the local pool cannot take onto a center gateway, under leases. */
  Spill spill();

  interface Grpc {
    /** Address the session and registration services listen on. */
    @WithDefault("127.0.0.1")
    String host();

    /** Port of the session and registration services; 0 picks a free one (logged at start). */
    @WithDefault("7070")
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

  interface Quota {
    /** Sessions the tenant may hold at once; 0 is unlimited. */
    @WithDefault("0")
    int maxSessions();

    /** Device memory the tenant's slices may add up to; 0 is unlimited. */
    @WithDefault("0")
    MemorySize maxMemory();
  }

  /** When a session goes to the center. */
  enum SpillMode {
    /** Only when nothing in the local pool fits it. */
    WHEN_FULL,
    /** Also when the local pool's memory allocation is at or above {@code threshold} percent. */
    ABOVE_UTILIZATION
  }

  interface Spill {
    /** Whether sessions the local pool cannot take are opened on the center under a lease. */
    @WithDefault("false")
    boolean enabled();

    /** Kafka bootstrap servers (host:port, comma-separated) of the lease topics; required when enabled. */
    Optional<String> kafkaBootstrap();

    /** host:port of the center gateway's gRPC session service; required when enabled. */
    Optional<String> center();

    /** {@code when-full} or {@code above-utilization}. */
    @WithDefault("when-full")
    SpillMode mode();

    /** Local memory allocation, in percent, at which {@code above-utilization} spills; 1..100. */
    @WithDefault("90")
    int threshold();

    /** The center's lease duration: the edge renews every third of it. Must match the center. */
    @WithDefault("30s")
    Duration leaseDuration();

    /** How long before a lease's deadline the edge stops using it (clock skew, renewal time). */
    @WithDefault("2s")
    Duration skewMargin();

    /** How long a session open waits for the lease leader's answer before it fails. */
    @WithDefault("5s")
    Duration grantTimeout();
  }
}
