package io.spillway.center;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.spillway.lease.LeaseAdmin;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseManager;
import io.spillway.lease.LeaseTopics;
import io.spillway.lease.gateway.CenterGateway;
import io.spillway.metrics.GatewayMetrics;
import io.spillway.pool.gateway.GatewayConfig;
import io.spillway.pool.gateway.FailoverConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.placement.TenantQuotas;
import io.spillway.pool.registry.Node;
import io.spillway.protocol.v1.LeaseState;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Wires the lease module's {@link CenterGateway} into Quarkus: builds it from {@link CenterConfig},
 * creates the lease topics and starts it at startup, joins the lease leader election once the center's
 * nodes have registered, and closes it at shutdown.
 *
 * <p><b>When leasing starts.</b> The lease leader grants leases only on the cards registered when this
 * replica joins the election ({@code CenterGateway.startLeasing} fixes the inventory). So the replica
 * waits until {@code leasing.min-nodes} nodes are up, then {@code leasing.delay} more for the rest of
 * the center's nodes, then joins. A node that registers later serves no lease until the replica
 * restarts.
 */
@Singleton
public class CenterApp {
  private static final Logger LOG = Logger.getLogger(CenterApp.class);

  /** How long an admin order may take to reach Kafka, and then to show in the lease log. */
  static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(5);
  /** How often the registry is looked at while waiting for {@code leasing.min-nodes}. */
  private static final long POLL_MILLIS = 100;

  private final CenterConfig config;
  private final CenterGateway center;
  private final LeaseBook book = new LeaseBook();
  private final LeaseAdministration administration;
  private final ScheduledExecutorService timer;
  private volatile boolean leasing;

  @Inject
  public CenterApp(CenterConfig config, MeterRegistry meters) {
    this.config = config;
    GatewayConfig gateway = gatewayConfig(config);
    LeaseConfig leases = leaseConfig(config);
    GatewayMetrics metrics = new GatewayMetrics(meters);
    center = new CenterGateway(gateway, config.kafkaBootstrap(), leases, Clock.systemUTC(), metrics.listener());
    // The center does not journal: the edge that sent a session here replays it when it is lost.
    center.core().failover(FailoverConfig.off());
    metrics.attach(center.core().registry(), center.core().placer());
    // Before the view starts, so that the book hears the lease log from its first record.
    center.view().addListener(book);
    administration = new LeaseAdministration(book,
        actor -> new LeaseAdmin(config.kafkaBootstrap(), actor), ADMIN_TIMEOUT);
    timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-center-leasing");
      t.setDaemon(true);
      return t;
    });
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
    return new GatewayConfig(config.name(), config.pool(), config.grpc().host(), config.grpc().port(),
        heartbeat.interval(), heartbeat.timeout(), TenantQuotas.unlimited());
  }

  static LeaseConfig leaseConfig(CenterConfig c) {
    String p = "spillway.center.";
    require(positive(c.leaseDuration()), p + "lease-duration is " + c.leaseDuration() + "; it must be positive");
    require(!c.drainDuration().isNegative(), p + "drain-duration is " + c.drainDuration() + "; it must be >= 0");
    require(!c.skewMargin().isNegative() && c.skewMargin().compareTo(c.leaseDuration()) < 0,
        p + "skew-margin is " + c.skewMargin() + "; it must be >= 0 and shorter than " + p + "lease-duration ("
            + c.leaseDuration() + ")");
    require(positive(c.sessionTimeout()), p + "session-timeout is " + c.sessionTimeout() + "; it must be positive");
    require(positive(c.maxPollInterval()),
        p + "max-poll-interval is " + c.maxPollInterval() + "; it must be positive");
    return new LeaseConfig(c.leaseDuration(), c.drainDuration(), c.skewMargin(), c.sessionTimeout(),
        c.maxPollInterval());
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
    LeaseTopics.ensure(config.kafkaBootstrap(), config.kafkaReplicationFactor());
    center.start();
    GatewayConfig c = center.core().config();
    LOG.infof("center gateway %s (pool %s): gRPC sessions and node registration on %s; leases over Kafka %s;"
        + " joins the lease election once %d node(s) are up, after %s more", c.name(), c.pool(),
        center.core().address(), config.kafkaBootstrap(), config.leasing().minNodes(), config.leasing().delay());
    timer.schedule(this::startLeasingWhenNodesAreUp, 0, TimeUnit.MILLISECONDS);
    // The launcher waits for this line, as it does for GPU nodes and edges.
    System.out.println("READY " + center.core().address());
  }

  private void startLeasingWhenNodesAreUp() {
    long up = center.core().registry().nodes().stream().filter(Node::isUp).count();
    if (up < config.leasing().minNodes()) {
      timer.schedule(this::startLeasingWhenNodesAreUp, POLL_MILLIS, TimeUnit.MILLISECONDS);
      return;
    }
    timer.schedule(() -> {
      String member = memberId();
      try {
        center.startLeasing(member);
      } catch (RuntimeException e) {
        // Stays not ready (readiness says leasing=false); the log says why.
        LOG.errorf(e, "center gateway %s could not join the lease election as %s", config.name(), member);
        return;
      }
      leasing = true;
      LOG.infof("center gateway %s joined the lease election as %s with %d card(s) on %d node(s)",
          config.name(), member, center.core().registry().nodes().stream().filter(Node::isUp)
              .mapToLong(n -> n.gpus().size()).sum(),
          center.core().registry().nodes().stream().filter(Node::isUp).count());
    }, config.leasing().delay().toMillis(), TimeUnit.MILLISECONDS);
  }

  String memberId() {
    return config.memberId().orElse(config.name());
  }

  /** True once this replica has joined the lease election. */
  boolean leasing() {
    return leasing;
  }

  /** True while this replica's lease manager is the leader. */
  boolean leader() {
    LeaseManager m = center.manager();
    return m != null && m.isLeader();
  }

  void stop(@Observes ShutdownEvent event) {
    timer.shutdownNow();
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
    return book;
  }

  @Produces
  @Singleton
  LeaseAdministration administration() {
    return administration;
  }
}
