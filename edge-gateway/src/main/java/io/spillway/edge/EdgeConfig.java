package io.spillway.edge;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.spillway.config.Doc;
import io.spillway.gateway.app.HeartbeatGroup;
import io.spillway.gateway.app.KafkaGroup;
import io.spillway.gateway.app.LimitsGroup;
import io.spillway.lease.LeaseConfig;
import io.spillway.pool.config.FailoverConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * Every {@code spillway.edge.*} key, declared once: its {@link Doc} is its row in the "Edge gateway"
 * table of docs/configuration.md, which {@code ConfigurationPage} generates. Durations take {@code 500ms}, {@code 3s}, {@code 1m} or ISO-8601; memory sizes take bytes or
 * a number with {@code K}, {@code M}, {@code G}, {@code T} (powers of 1024).
 */
@ConfigMapping(prefix = "spillway.edge")
public interface EdgeConfig {

  @Doc(value = "the gateway's name, reported to nodes, in session ids and in logs",
      type = "name")
  @WithDefault("edge")
  String name();

  @Doc(value = "the pool this gateway serves",
      type = "name",
      defaultText = "`edge/<name>`")
  Optional<String> pool();

  /** The gRPC server clients and GPU nodes connect to. */
  Grpc grpc();

  /** TLS on the gRPC server and on the connections to GPU nodes and the center; off when not set. */
  Tls tls();

  /** Node liveness. */
  HeartbeatGroup heartbeat();

  /** What one client connection, stream or frame may take of the gateway. */
  LimitsGroup limits();


  /** The quota of every tenant without an entry under {@code tenants}. */
  Quota defaultQuota();

  /** Quotas of named tenants, replacing the default quota for them. */
  @Doc(mapKey = "tenant")
  Map<String, Quota> tenants();

  @Doc(value = "a session of a tenant not named under `spillway.edge.tenants`: `refuse` answers "
          + "`PERMISSION_DENIED` \"unknown tenant\" (and grows no metric series for it); `default-quota` "
          + "admits it under the default quota",
      defaultText = "`refuse` when `spillway.auth.keys` is set, else `default-quota`")
  Optional<UnknownTenants> unknownTenants();

  /** Sessions of tenants the configuration does not name. */
  enum UnknownTenants {
    /** Refused with PERMISSION_DENIED "unknown tenant". */
    REFUSE,
    /** Admitted under the default quota. */
    DEFAULT_QUOTA
  }

  /** Spilling sessions the local pool cannot take onto a center gateway, under leases. */
  Spill spill();

  /** Journaling sessions and replaying them on another slice when their GPU, link or lease is lost. */
  Failover failover();

  @Doc("what happens to a session spilled to the center once local capacity is free: `never` "
      + "leaves it there until it ends; `when-idle` moves it back when it has no operation in "
      + "flight; `immediate` moves it back at once, replaying operations in flight on the local "
      + "slice")
  @WithDefault("never")
  FailoverConfig.Failback failback();

  interface Grpc {
    @Doc(value = "address the gRPC session and registration services listen on",
        type = "address")
    @WithDefault("127.0.0.1")
    String host();

    @Doc(value = "port of the session and registration services (clients and GPU nodes connect here); 0 "
            + "picks a free one, logged at start",
        type = "port")
    @WithDefault("7070")
    int port();
  }

  interface Quota {
    @Doc("sessions the tenant may hold at once; 0 is unlimited (say so explicitly: the default is finite "
        + "so that an unconfigured tenant cannot take the pool)")
    @WithDefault("16")
    int maxSessions();

    @Doc("device memory the tenant's slices may add up to; 0 is unlimited")
    @WithDefault("64G")
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
    @Doc("open sessions the local pool cannot take on a center gateway, under a lease borrowed "
        + "over Kafka (see [leases.md](leases.md))")
    @WithDefault("false")
    boolean enabled();

    @Doc(value = "a file of one line of base64: this edge's lease signing key (derived from the center's secret "
        + "for this edge's name, `LeaseSigning.edgeKey`); its requests, renewals and releases are signed with it. "
        + "Unset: unsigned, which a center that checks signatures ignores", type = "path")
    Optional<Path> signingKeyFile();

    @Doc(value = "Kafka bootstrap servers of the lease topics; required when spilling is enabled",
        type = "host:port,...")
    Optional<String> kafkaBootstrap();

    @Doc(value = "the center gateway's gRPC session service (its `spillway.center.grpc.*`), or each center "
            + "replica's, comma-separated, most preferred first; required when spilling is enabled. "
            + "Each spilled session is opened on the first replica not reported unreachable in the last "
            + "5 s (any replica admits a session under any lease: they all follow the lease log)",
        type = "host:port,...")
    Optional<String> center();

    @Doc("`when-full` spills only a session nothing local fits; `above-utilization` also sends "
        + "every new session to the center while the local pool's memory allocation (over the cards "
        + "of UP nodes) is at or above `threshold`")
    @WithDefault("when-full")
    SpillMode mode();

    @Doc(value = "allocation, 1..100, at which `above-utilization` spills; unused by `when-full`",
        type = "percent")
    @WithDefault("90")
    int threshold();

    @Doc("the center's lease duration (set it to the center's `spillway.center.lease-duration`; "
        + "both default to `LeaseConfig.DEFAULT_LEASE_DURATION`); `skew-margin` is checked against "
        + "it. Renewals follow each lease's granted deadline, not this")
    @WithDefault(LeaseConfig.DEFAULT_LEASE_DURATION)
    Duration leaseDuration();

    @Doc("the edge stops using a lease this long before its deadline (clock skew between edge and "
        + "lease leader, renewal latency); shorter than `lease-duration`; the same default as the "
        + "center's")
    @WithDefault(LeaseConfig.DEFAULT_SKEW_MARGIN)
    Duration skewMargin();

    @Doc("the longest the edge waits between two renewals of a lease. The edge renews a lease when "
        + "a third of the time it has left before its usable deadline (deadline less `skew-margin`) "
        + "has passed, and again after each renewal or failed attempt, so attempts come closer "
        + "together as the deadline nears; with this set, it never waits longer than this. "
        + "`spillway up` sets it from the topology's `center.renewInterval`")
    Optional<Duration> renewInterval();

    /** Bounds on the lease producer's blocking and waiting. */
    KafkaGroup kafka();

    @Doc("how long a session open waits for the lease leader's answer; past it the open fails with "
        + "`UNAVAILABLE`")
    @WithDefault("5s")
    Duration grantTimeout();

    /** Timeout, retry, circuit breaker and bulkhead on the way to the center. */
    FaultTolerance faultTolerance();
  }

  /** The fault-tolerance policies of the edge -> center path ({@code GuardedSpillTarget}). */
  interface FaultTolerance {
    @Doc(value = "how long one attempt to borrow a lease may take; an attempt past it counts as a center "
            + "failure and is retried; a lease granted after it is given back at once",
        defaultText = "`grant-timeout`")
    Optional<Duration> timeout();

    /** Retrying borrows that failed with UNAVAILABLE. */
    Retry retry();

    /** Failing fast while the center looks down. */
    CircuitBreaker circuitBreaker();

    /** Concurrent borrows per tenant. */
    Bulkhead bulkhead();
  }

  interface Retry {
    @Doc("retries of a borrow that failed with `UNAVAILABLE` (no answer from the lease leader, "
        + "Kafka down, an attempt past the timeout); 0 retries nothing. `RESOURCE_EXHAUSTED` (the "
        + "center is full) and other failures are never retried")
    @WithDefault("2")
    int maxRetries();

    @Doc("wait before the first retry")
    @WithDefault("200ms")
    Duration delay();

    @Doc("exponential backoff: each further wait is the previous one times this (1: a constant "
        + "wait)")
    @WithDefault("2")
    int factor();

    @Doc("the longest wait between two attempts; at least `retry.delay`")
    @WithDefault("2s")
    Duration maxDelay();

    @Doc("a random amount, up to this, added to or taken from each wait, so edges do not retry in "
        + "step")
    @WithDefault("100ms")
    Duration jitter();
  }

  interface CircuitBreaker {
    @Doc("the circuit breaker's rolling window: the last this many borrow attempts (and reports of "
        + "a center replica unreachable)")
    @WithDefault("10")
    int requestVolumeThreshold();

    @Doc(value = "share of failures in a full window (attempts failing with `UNAVAILABLE` or past the "
            + "timeout, unreachable reports; a \"center full\" answer is a success) at which the breaker "
            + "opens, > 0 and <= 1. While open, spills fail at once with `UNAVAILABLE` saying when the "
            + "center will be probed, and `above-utilization` sends nothing to the center first",
        type = "ratio")
    @WithDefault("0.5")
    double failureRatio();

    @Doc("how long the breaker stays open; the first borrow after it is a probe (half-open)")
    @WithDefault("10s")
    Duration delay();

    @Doc("successful probes that close a half-open breaker; a failed probe opens it again")
    @WithDefault("1")
    int successThreshold();
  }

  interface Bulkhead {
    @Doc("borrows one tenant may have in flight at once (waiting for a grant, retries included), "
        + "in a SmallRye bulkhead per tenant; one more waits for a place, and beyond that a borrow "
        + "fails at once with `RESOURCE_EXHAUSTED` naming the tenant and the limit. Other tenants "
        + "are not affected")
    @WithDefault("8")
    int perTenant();
  }

  interface Failover {
    @Doc("journal every session (modules, allocations, contents of persistent buffers, operations "
        + "since the last completed synchronizing call) so that when its GPU, link or lease is lost "
        + "it is rebuilt on another slice (local first, else a new lease) instead of ending with "
        + "`UNAVAILABLE`; see [failover.md](failover.md)")
    @WithDefault("true")
    boolean journal();

    @Doc("journal bound per session; past it the session is no longer replayable (a loss then ends "
        + "it with `UNAVAILABLE`) and is told so")
    @WithDefault("256M")
    MemorySize maxSessionJournal();

    @Doc("journal bound for all the gateway's sessions together; at least `max-session-journal`")
    @WithDefault("4G")
    MemorySize maxGatewayJournal();

    @Doc("how long a lost session may take to be rebuilt elsewhere before it fails with "
        + "`UNAVAILABLE`")
    @WithDefault("30s")
    Duration replayDeadline();

    @Doc("how often spilled sessions look for local capacity, when `failback` is not `never`")
    @WithDefault("1s")
    Duration failbackInterval();
  }

  /** TLS on every hop: the gateway's certificate, key and trusted CA, PEM files followed as they rotate. */
  interface Tls {
    @Doc(value = "PEM certificate chain of this gateway, naming it in a URI SAN "
            + "(`spillway://edge/<name>?pool=<pool>`, docs/security.md); with `key` and `ca`, the gRPC server, the "
            + "connections to GPU nodes and to the center and node registration use TLS, and plaintext is "
            + "refused. Read again when it changes (cert-manager rotation)",
        type = "path")
    Optional<String> cert();

    @Doc(value = "PEM private key of `cert` (PKCS#8, EC or RSA)", type = "path")
    Optional<String> key();

    @Doc(value = "PEM certificates of the CA trusted for nodes', clients' and the center's certificates",
        type = "path")
    Optional<String> ca();

    @Doc("whether a client must present a certificate to connect at all; when false, tenants may connect "
        + "with a token only (their calls carry no peer identity), while GPU nodes registering must still "
        + "present theirs")
    @WithDefault("false")
    boolean requireClientCertificates();
  }
}
