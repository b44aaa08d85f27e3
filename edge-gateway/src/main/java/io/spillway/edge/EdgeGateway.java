package io.spillway.edge;

import io.grpc.ServerInterceptor;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.spillway.console.http.Credentials;
import io.spillway.federation.EdgeSpill;
import io.spillway.federation.GuardedSpillTarget;
import io.spillway.federation.LeaseSpill;
import io.spillway.lease.KafkaClientProperties;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseSigning;
import io.spillway.metrics.GatewayMetrics;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.placement.TenantQuota;
import io.spillway.pool.placement.TenantQuotas;
import io.spillway.pool.session.TenantPolicy;
import io.spillway.security.tls.TlsFiles;
import io.spillway.security.token.CredentialInterceptor;
import io.spillway.security.token.TenantNames;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * Wires the pool's {@link GatewayCore} into Quarkus: builds it from {@link EdgeConfig}, starts its gRPC
 * server at startup, closes it at shutdown, and offers it to the REST resources and health checks.
 *
 * <p>The core is built in the constructor (nothing is bound yet) so that it can be produced as a bean
 * before {@link StartupEvent}; its server listens only from {@link #start}. It is a {@code @Singleton},
 * not {@code @ApplicationScoped}: {@code GatewayCore} is final and needs no client proxy.
 *
 * <p>With {@code spillway.edge.spill.enabled}, the federation module's {@link EdgeSpill} starts: its
 * {@link LeaseClient} (edge = this gateway's name) reads the lease log before the gRPC server opens, so the first session that does not fit can already
 * borrow from the center; a lease client that cannot read the log within {@link #LEASE_LOG_TIMEOUT}
 * fails the start (spilling was asked for, and an edge that silently cannot spill is worse).
 */
@Singleton
public class EdgeGateway {
  private static final Logger LOG = Logger.getLogger(EdgeGateway.class);

  /** How long the start waits for the lease client to read the lease log to its end. */
  static final Duration LEASE_LOG_TIMEOUT = Duration.ofSeconds(30);

  private final GatewayCore core;
  private final EdgeConfig config;
  private volatile EdgeSpill spill;

  @Inject
  public EdgeGateway(EdgeConfig config, MeterRegistry meters, Credentials credentials) {
    this.config = config;
    GatewayConfig gateway = gatewayConfig(config);
    spillSettings(config.spill());
    FailoverConfig failover = failoverConfig(config);
    GatewayMetrics metrics = new GatewayMetrics(meters);
    List<ServerInterceptor> interceptors = new ArrayList<>();
    credentials.verifier().ifPresent(v -> interceptors.add(new CredentialInterceptor(v)));
    core = new GatewayCore(gateway, InstantSource.system(), metrics.listener(), interceptors).failover(failover)
        .tenants(tenantPolicy(config, credentials.verifier().isPresent()));
    metrics.attach(core.registry(), core.placer());
    metrics.watchJournal(core::journalBytes);
    config.tenants().keySet().forEach(metrics::watchTenant);
  }

  /**
   * Maps the configuration keys onto the core's settings.
   *
   * @throws IllegalArgumentException naming the key, the value and what is accepted
   */
  static GatewayConfig gatewayConfig(EdgeConfig config) {
    var heartbeat = config.heartbeat();
    require(!heartbeat.interval().isNegative() && !heartbeat.interval().isZero(),
        "spillway.edge.heartbeat.interval is " + heartbeat.interval() + "; it must be positive");
    require(heartbeat.timeout().compareTo(heartbeat.interval()) > 0,
        "spillway.edge.heartbeat.timeout is " + heartbeat.timeout()
            + "; it must be longer than spillway.edge.heartbeat.interval (" + heartbeat.interval() + ")");
    require(config.grpc().port() >= 0 && config.grpc().port() <= 65535,
        "spillway.edge.grpc.port is " + config.grpc().port() + "; it must be 0..65535 (0: a free port)");
    Map<String, TenantQuota> perTenant = new HashMap<>();
    config.tenants().forEach((tenant, quota) ->
        perTenant.put(tenant, quota(quota, "spillway.edge.tenants.\"" + tenant + "\"")));
    return withTls(config, new GatewayConfig(config.name(), config.pool().orElse("edge/" + config.name()),
        config.grpc().host(), config.grpc().port(), heartbeat.interval(),
        heartbeat.timeout(), TenantQuotas.of(quota(config.defaultQuota(), "spillway.edge.default-quota"),
            perTenant)).withLimits(config.limits().toCore("spillway.edge.limits.")));
  }

  /** Maps {@code spillway.edge.tls.*} onto the core: TLS on every hop when the three files are set. */
  static GatewayConfig withTls(EdgeConfig config, GatewayConfig gateway) {
    EdgeConfig.Tls tls = config.tls();
    return TlsFiles.fromKeys("spillway.edge.tls.", tls.cert(), tls.key(), tls.ca())
        .map(files -> gateway.withTls(new GatewayConfig.Tls(files, tls.requireClientCertificates())))
        .orElse(gateway);
  }

  /**
   * Who may open sessions: with credentials checked, only proven tenants; unknown tenants refused unless
   * {@code spillway.edge.unknown-tenants=default-quota}.
   *
   * @throws IllegalArgumentException naming a tenant key that is not a valid tenant name
   */
  static TenantPolicy tenantPolicy(EdgeConfig config, boolean credentials) {
    for (String tenant : config.tenants().keySet()) {
      String problem = TenantNames.problem(tenant);
      require(problem == null, "spillway.edge.tenants.\"" + tenant + "\": " + problem);
    }
    EdgeConfig.UnknownTenants unknown = config.unknownTenants()
        .orElse(credentials ? EdgeConfig.UnknownTenants.REFUSE : EdgeConfig.UnknownTenants.DEFAULT_QUOTA);
    return new TenantPolicy(credentials, unknown == EdgeConfig.UnknownTenants.REFUSE
        ? Optional.of(config.tenants().keySet()) : Optional.empty());
  }

  /**
   * Checks the {@code spillway.edge.spill.*} keys; nothing is checked when spilling is off.
   *
   * @return the lease timings the edge's lease client uses, or null when spilling is off
   * @throws IllegalArgumentException naming the key, the value and what is accepted
   */
  static LeaseConfig spillSettings(EdgeConfig.Spill spill) {
    if (!spill.enabled()) {
      return null;
    }
    String p = "spillway.edge.spill.";
    require(spill.kafkaBootstrap().filter(s -> !s.isBlank()).isPresent(),
        p + "kafka-bootstrap is not set; spilling needs the Kafka cluster of the lease topics (host:port)");
    centers(spill.center());
    require(spill.threshold() >= 1 && spill.threshold() <= 100,
        p + "threshold is " + spill.threshold() + "; it must be a percentage 1..100");
    LeaseConfig.check(spill.leaseDuration(), spill.skewMargin(), p + "lease-duration", p + "skew-margin");
    require(positive(spill.grantTimeout()), p + "grant-timeout is " + spill.grantTimeout()
        + "; it must be positive");
    spill.renewInterval().ifPresent(r -> require(positive(r), p + "renew-interval is " + r
        + "; it must be positive (leave it unset to renew at a third of each lease's time left)"));
    faultTolerance(spill);
    spill.signingKeyFile().ifPresent(f -> LeaseSigning.read(f, p + "signing-key-file"));
    return LeaseConfig.defaults().withLeaseDuration(spill.leaseDuration())
        .withSkewMargin(spill.skewMargin()).withKafka(spill.kafka().timeouts(p + "kafka."))
        .withKafkaProperties(spill.kafka().propertiesFile()
            .map(f -> KafkaClientProperties.load(f, p + "kafka.properties-file")).orElse(java.util.Map.of()));
  }

  /**
   * Parses {@code spillway.edge.spill.center}: one host:port, or several comma-separated (center
   * replicas, most preferred first).
   *
   * @throws IllegalArgumentException naming the key and the offending value
   */
  static List<String> centers(Optional<String> value) {
    String key = "spillway.edge.spill.center";
    require(value.filter(v -> !v.isBlank()).isPresent(), key
        + " is not set; spilling needs host:port of the center gateway's gRPC service (comma-separated for "
        + "several replicas)");
    List<String> out = new ArrayList<>();
    for (String part : value.orElseThrow().split(",", -1)) {
      String c = part.trim();
      require(isHostPort(c), key + " is " + value.orElseThrow() + "; '" + c
          + "' is not host:port (port 1..65535); give one host:port per center replica, comma-separated");
      require(!out.contains(c), key + " is " + value.orElseThrow() + "; it names " + c + " twice");
      out.add(c);
    }
    return out;
  }

  /**
   * Maps {@code spillway.edge.spill.fault-tolerance.*} onto the guard's policy.
   *
   * @throws IllegalArgumentException naming the key, the value and what is accepted
   */
  static GuardedSpillTarget.Policy faultTolerance(EdgeConfig.Spill spill) {
    EdgeConfig.FaultTolerance ft = spill.faultTolerance();
    EdgeConfig.Retry r = ft.retry();
    EdgeConfig.CircuitBreaker cb = ft.circuitBreaker();
    return new GuardedSpillTarget.Policy(ft.timeout().orElse(spill.grantTimeout()), r.maxRetries(), r.delay(),
        r.factor(), r.maxDelay(), r.jitter(), cb.requestVolumeThreshold(), cb.failureRatio(), cb.delay(),
        cb.successThreshold(), ft.bulkhead().perTenant());
  }

  /**
   * Maps {@code spillway.edge.failover.*} and {@code spillway.edge.failback} onto the core's failover.
   *
   * @throws IllegalArgumentException naming the key, the value and what is accepted
   */
  static FailoverConfig failoverConfig(EdgeConfig config) {
    EdgeConfig.Failover f = config.failover();
    String p = "spillway.edge.failover.";
    long perSession = f.maxSessionJournal().asLongValue();
    long perGateway = f.maxGatewayJournal().asLongValue();
    require(perSession > 0, p + "max-session-journal is " + perSession + " bytes; it must be positive");
    require(perGateway >= perSession, p + "max-gateway-journal is " + perGateway + " bytes; it must be at least "
        + p + "max-session-journal (" + perSession + " bytes)");
    require(positive(f.replayDeadline()), p + "replay-deadline is " + f.replayDeadline()
        + "; it must be positive");
    require(positive(f.failbackInterval()), p + "failback-interval is " + f.failbackInterval()
        + "; it must be positive");
    return new FailoverConfig(f.journal(), perSession, perGateway, f.replayDeadline(), config.failback(),
        f.failbackInterval());
  }

  private static boolean positive(Duration d) {
    return !d.isNegative() && !d.isZero();
  }

  /** A host name, an IPv4 address or a bracketed IPv6 address, then a port. */
  private static final java.util.regex.Pattern HOST_PORT =
      java.util.regex.Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):([0-9]{1,5})");

  private static boolean isHostPort(String s) {
    var m = HOST_PORT.matcher(s);
    if (!m.matches()) {
      return false;
    }
    int port = Integer.parseInt(m.group(2));
    return port > 0 && port <= 65535;
  }


  private static TenantQuota quota(EdgeConfig.Quota quota, String prefix) {
    require(quota.maxSessions() >= 0,
        prefix + ".max-sessions is " + quota.maxSessions() + "; it must be >= 0 (0: unlimited)");
    return new TenantQuota(quota.maxSessions(), quota.maxMemory().asLongValue());
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  void start(@Observes StartupEvent event) throws IOException, InterruptedException, TimeoutException {
    EdgeConfig.Spill spill = config.spill();
    LeaseConfig timings = spillSettings(spill);
    if (timings != null) {
      List<String> centers = centers(spill.center());
      EdgeSpill started = EdgeSpill.start(new EdgeSpill.Settings(spill.kafkaBootstrap().orElseThrow(), config.name(),
          centers, LeaseSpill.Mode.valueOf(spill.mode().name()), spill.threshold(), spill.grantTimeout(),
          spill.renewInterval(), timings, faultTolerance(spill),
          spill.signingKeyFile().map(f -> LeaseSigning.read(f, "spillway.edge.spill.signing-key-file"))),
          Clock.systemUTC(), LEASE_LOG_TIMEOUT);
      this.spill = started;
      core.spillTo(started.target());
      LOG.infof("edge gateway %s spills to center %s (%s, threshold %d%%) under leases over Kafka %s; %s",
          config.name(), String.join(", ", centers),
          spill.mode().name().toLowerCase(Locale.ROOT).replace('_', '-'), spill.threshold(),
          spill.kafkaBootstrap().orElseThrow(), started.guard().policy());
    }
    FailoverConfig failover = core.failoverConfig();
    LOG.infof("failover: journal %s (%d bytes per session, %d per gateway), replay deadline %s, failback %s "
        + "every %s", failover.journal() ? "on" : "off", failover.maxSessionBytes(), failover.maxGatewayBytes(),
        failover.replayDeadline(), failover.failback().name().toLowerCase(Locale.ROOT).replace('_', '-'),
        failover.failbackInterval());
    core.start();
    GatewayConfig c = core.config();
    LOG.infof("edge gateway %s (pool %s): gRPC sessions and node registration on %s", c.name(), c.pool(),
        core.address());
    // The launcher waits for this line, as it does for GPU nodes.
    System.out.println("READY " + core.address());
  }

  void stop(@Observes ShutdownEvent event) {
    // The core first: its spilled sessions end and give their leases back through the lease client.
    core.close();
    EdgeSpill s = spill;
    if (s != null) {
      s.close();
    }
  }

  /** The spill path as an operator sees it; empty when spilling is off (or not started yet). */
  Optional<SpillView> spillView() {
    EdgeSpill s = spill;
    if (s == null) {
      return Optional.empty();
    }
    return Optional.of(new SpillView(s.leaseSpill().centers(), s.leaseSpill().preferredCenter(), s.guard().breaker()));
  }

  /** Where spills go and whether the center's circuit breaker lets them. */
  record SpillView(List<String> centers, String preferredCenter, GuardedSpillTarget.BreakerView circuitBreaker) {}

  @Produces
  @Singleton
  GatewayCore core() {
    return core;
  }
}
