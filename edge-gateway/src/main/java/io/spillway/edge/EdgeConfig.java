package io.spillway.edge;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.spillway.lease.KafkaTimeouts;
import io.spillway.lease.LeaseConfig;
import io.spillway.pool.gateway.FailoverConfig;
import java.nio.file.Path;
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

  /** Journaling sessions and replaying them on another slice when their GPU, link or lease is lost. */
  Failover failover();

  /** What happens to a spilled session when local capacity returns: never, when-idle or immediate. */
  @WithDefault("never")
  FailoverConfig.Failback failback();

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

    /**
     * A file of one line of base64: this edge's lease signing key, derived from the center's secret for this
     * edge's name; its lease records are signed with it. Unset: unsigned.
     */
    Optional<Path> signingKeyFile();

    /** Kafka bootstrap servers (host:port, comma-separated) of the lease topics; required when enabled. */
    Optional<String> kafkaBootstrap();

    /**
     * host:port of the center gateway's gRPC session service, or of each center replica,
     * comma-separated, most preferred first; required when enabled.
     */
    Optional<String> center();

    /** {@code when-full} or {@code above-utilization}. */
    @WithDefault("when-full")
    SpillMode mode();

    /** Local memory allocation, in percent, at which {@code above-utilization} spills; 1..100. */
    @WithDefault("90")
    int threshold();

    /**
     * The center's lease duration; must match the center's. The skew margin is checked against it;
     * renewals follow each lease's granted deadline, not this.
     */
    @WithDefault(LeaseConfig.DEFAULT_LEASE_DURATION)
    Duration leaseDuration();

    /** How long before a lease's deadline the edge stops using it (clock skew, renewal time). */
    @WithDefault(LeaseConfig.DEFAULT_SKEW_MARGIN)
    Duration skewMargin();

    /**
     * The longest the edge waits between two renewals of a lease; it renews sooner whenever a third of
     * the time the lease has left is shorter. None: a third of the time left, always.
     */
    Optional<Duration> renewInterval();

    /** Bounds on the lease producer's blocking and waiting. */
    Kafka kafka();

    /** How long a session open waits for the lease leader's answer before it fails. */
    @WithDefault("5s")
    Duration grantTimeout();

    /** Timeout, retry, circuit breaker and bulkhead on the way to the center. */
    FaultTolerance faultTolerance();
  }

  /** How long a call of the edge's lease producer may block or wait. */
  interface Kafka {
    /**
     * A Java properties file of Kafka client security settings (security.protocol, sasl.*, ssl.*) for the
     * edge's lease client; unset: plaintext.
     */
    Optional<Path> propertiesFile();

    /** The longest a Kafka send blocks its thread (the lease client's sender) for metadata or buffer space. */
    @WithDefault(KafkaTimeouts.DEFAULT_MAX_BLOCK)
    Duration maxBlock();

    /** How long the producer waits for one broker response. */
    @WithDefault(KafkaTimeouts.DEFAULT_REQUEST)
    Duration requestTimeout();

    /** The longest a lease request, renewal or release may take to be acknowledged, retries included. */
    @WithDefault(KafkaTimeouts.DEFAULT_DELIVERY)
    Duration deliveryTimeout();
  }

  /** The fault-tolerance policies of the edge -> center path ({@code GuardedSpillTarget}). */
  interface FaultTolerance {
    /** How long one attempt to borrow a lease may take; the grant timeout when not set. */
    Optional<Duration> timeout();

    /** Retrying borrows that failed with UNAVAILABLE. */
    Retry retry();

    /** Failing fast while the center looks down. */
    CircuitBreaker circuitBreaker();

    /** Concurrent borrows per tenant. */
    Bulkhead bulkhead();
  }

  interface Retry {
    /** Retries after the first attempt; 0 retries nothing. */
    @WithDefault("2")
    int maxRetries();

    /** Wait before the first retry. */
    @WithDefault("200ms")
    Duration delay();

    /** Each further wait is the previous one times this factor. */
    @WithDefault("2")
    int factor();

    /** The longest wait between two attempts. */
    @WithDefault("2s")
    Duration maxDelay();

    /** Random variation added to or taken from each wait. */
    @WithDefault("100ms")
    Duration jitter();
  }

  interface CircuitBreaker {
    /** Borrows in the rolling window the failure ratio is computed over. */
    @WithDefault("10")
    int requestVolumeThreshold();

    /** Share of failed borrows in the window at which the breaker opens; 0 < ratio <= 1. */
    @WithDefault("0.5")
    double failureRatio();

    /** How long the breaker stays open before it lets a probe through. */
    @WithDefault("10s")
    Duration delay();

    /** Successful probes that close a half-open breaker. */
    @WithDefault("1")
    int successThreshold();
  }

  interface Bulkhead {
    /** Borrows one tenant may have in flight at once. */
    @WithDefault("8")
    int perTenant();
  }

  interface Failover {
    /** Whether sessions are journaled and replayed elsewhere when their upstream is lost. */
    @WithDefault("true")
    boolean journal();

    /** Journal bound per session; past it the session is no longer replayable. */
    @WithDefault("256M")
    MemorySize maxSessionJournal();

    /** Journal bound for all sessions of the gateway together. */
    @WithDefault("4G")
    MemorySize maxGatewayJournal();

    /** How long a lost session may take to be rebuilt before it fails with UNAVAILABLE. */
    @WithDefault("30s")
    Duration replayDeadline();

    /** How often spilled sessions look for local capacity (failback). */
    @WithDefault("1s")
    Duration failbackInterval();
  }
}
