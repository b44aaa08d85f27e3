package io.spillway.center;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.spillway.federation.CenterGateway;
import io.spillway.federation.CenterSecurity;
import io.spillway.federation.LeaseAdministration;
import io.spillway.federation.LeaseBook;
import io.spillway.lease.KafkaClientProperties;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseSigning;
import io.spillway.lease.LeaseTopics;
import io.spillway.metrics.GatewayMetrics;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.placement.TenantQuotas;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.security.tls.TlsFiles;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * Wires the federation module's {@link CenterGateway} into Quarkus: builds it from {@link CenterConfig},
 * creates the lease topics and starts it at startup, has it join the lease leader election once the
 * center's nodes have registered ({@link CenterGateway#joinElectionWhenUp}), and closes it at shutdown.
 *
 * <p><b>When leasing starts.</b> The lease leader grants leases only on the cards registered when this
 * replica joins the election. So the replica waits until {@code leasing.min-nodes} nodes are up, then
 * {@code leasing.delay} more for the rest of the center's nodes, then joins. A node that registers
 * later serves no lease until the replica restarts.
 */
@Singleton
public class CenterApp {
  private static final Logger LOG = Logger.getLogger(CenterApp.class);

  /** How long an admin order may take to reach Kafka, and then to show in the lease log. */
  static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(5);

  private final CenterConfig config;
  private final CenterGateway center;

  @Inject
  public CenterApp(CenterConfig config, MeterRegistry meters) {
    this.config = config;
    GatewayConfig gateway = gatewayConfig(config);
    LeaseConfig leases = leaseConfig(config);
    GatewayMetrics metrics = new GatewayMetrics(meters);
    center = new CenterGateway(gateway, config.kafkaBootstrap(), leases, Clock.systemUTC(), metrics.listener(),
        ADMIN_TIMEOUT, security(config));
    metrics.attach(center.core().registry(), center.core().placer());
    registerLeaseGauges(meters);
  }

  static GatewayConfig gatewayConfig(CenterConfig config) {
    var heartbeat = config.heartbeat();
    require(positive(heartbeat.interval()),
        "spillway.center.heartbeat.interval is " + heartbeat.interval() + "; it must be positive");
    require(heartbeat.timeout().compareTo(heartbeat.interval()) > 0,
        "spillway.center.heartbeat.timeout is " + heartbeat.timeout()
            + "; it must be longer than spillway.center.heartbeat.interval (" + heartbeat.interval() + ")");
    require(config.grpc().port() >= 0 && config.grpc().port() <= 65535,
        "spillway.center.grpc.port is " + config.grpc().port() + "; it must be 0..65535 (0: a free port)");
    require(config.leasing().minNodes() >= 1,
        "spillway.center.leasing.min-nodes is " + config.leasing().minNodes() + "; it must be >= 1");
    require(!config.leasing().delay().isNegative(),
        "spillway.center.leasing.delay is " + config.leasing().delay() + "; it must be >= 0");
    require(config.kafkaReplicationFactor() >= 1, "spillway.center.kafka-replication-factor is "
        + config.kafkaReplicationFactor() + "; it must be >= 1");
    GatewayConfig gateway = new GatewayConfig(config.name(), config.pool(), config.grpc().host(),
        config.grpc().port(), heartbeat.interval(), heartbeat.timeout(), TenantQuotas.unlimited())
        .withLimits(config.limits().toCore("spillway.center.limits."));
    CenterConfig.Tls tls = config.tls();
    return TlsFiles.fromKeys("spillway.center.tls.", tls.cert(), tls.key(), tls.ca())
        .map(files -> gateway.withTls(new GatewayConfig.Tls(files, tls.requireClientCertificates())))
        .orElse(gateway);
  }

  static LeaseConfig leaseConfig(CenterConfig c) {
    String p = "spillway.center.";
    LeaseConfig.check(c.leaseDuration(), c.skewMargin(), p + "lease-duration", p + "skew-margin");
    require(!c.drainDuration().isNegative(), p + "drain-duration is " + c.drainDuration() + "; it must be >= 0");
    require(positive(c.sessionTimeout()), p + "session-timeout is " + c.sessionTimeout() + "; it must be positive");
    require(positive(c.maxPollInterval()),
        p + "max-poll-interval is " + c.maxPollInterval() + "; it must be positive");
    return new LeaseConfig(c.leaseDuration(), c.drainDuration(), c.skewMargin(), c.sessionTimeout(),
        c.maxPollInterval(), c.kafka().timeouts(p + "kafka."),
        c.kafka().propertiesFile().map(f -> KafkaClientProperties.load(f, p + "kafka.properties-file"))
            .orElse(java.util.Map.of()));
  }

  static CenterSecurity security(CenterConfig c) {
    CenterSecurity s = new CenterSecurity(java.util.List.of(), c.requireEdgeIdentity());
    return c.leaseSigningSecretFile()
        .map(f -> s.withLeaseSecret(LeaseSigning.read(f, "spillway.center.lease-signing-secret-file"))).orElse(s);
  }

  private static boolean positive(Duration d) {
    return !d.isNegative() && !d.isZero();
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  private void registerLeaseGauges(MeterRegistry meters) {
    LeaseBook book = center.book();
    for (LeaseState state : book.countByState().keySet()) {
      Gauge.builder("spillway.leases", book, b -> b.countByState().getOrDefault(state, 0L))
          .description("Leases in the lease log by state (live: GRANTED, DRAINING; the rest are ended)")
          .tag("state", state.name()).strongReference(true).register(meters);
    }
    Gauge.builder("spillway.lease.leader", this, a -> a.leader() ? 1 : 0)
        .description("1 while this replica's lease manager leads the leases, 0 otherwise")
        .strongReference(true).register(meters);
  }

  void start(@Observes StartupEvent event) throws Exception {
    LeaseTopics.ensure(config.kafkaBootstrap(), config.kafkaReplicationFactor(),
        center.leaseConfig().kafkaProperties());
    center.start();
    GatewayConfig c = center.core().config();
    LOG.infof("center gateway %s (pool %s): gRPC sessions and node registration on %s; leases over Kafka %s;"
        + " joins the lease election once %d node(s) are up, after %s more", c.name(), c.pool(),
        center.core().address(), config.kafkaBootstrap(), config.leasing().minNodes(), config.leasing().delay());
    center.joinElectionWhenUp(memberId(), config.leasing().minNodes(), config.leasing().delay());
    // The launcher waits for this line, as it does for GPU nodes and edges.
    System.out.println("READY " + center.core().address());
  }

  String memberId() {
    return config.memberId().orElse(config.name());
  }

  /** True once this replica has joined the lease election. */
  boolean leasing() {
    return center.leasing();
  }

  /** True while this replica's lease manager is the leader. */
  boolean leader() {
    return center.leader();
  }

  void stop(@Observes ShutdownEvent event) {
    center.close();
  }

  @Produces
  @Singleton
  GatewayCore core() {
    return center.core();
  }

  @Produces
  @Singleton
  CenterGateway center() {
    return center;
  }

  @Produces
  @Singleton
  LeaseBook book() {
    return center.book();
  }

  @Produces
  @Singleton
  LeaseAdministration administration() {
    return center.administration();
  }
}
