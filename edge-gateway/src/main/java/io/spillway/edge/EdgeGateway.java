package io.spillway.edge;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.spillway.pool.gateway.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.placement.TenantQuota;
import io.spillway.pool.placement.TenantQuotas;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Wires the pool's {@link GatewayCore} into Quarkus: builds it from {@link EdgeConfig}, starts its gRPC
 * server at startup, closes it at shutdown, and offers it to the REST resources and health checks.
 *
 * <p>The core is built in the constructor (nothing is bound yet) so that it can be produced as a bean
 * before {@link StartupEvent}; its server listens only from {@link #start}. It is a {@code @Singleton},
 * not {@code @ApplicationScoped}: {@code GatewayCore} is final and needs no client proxy.
 */
@Singleton
public class EdgeGateway {
  private static final Logger LOG = Logger.getLogger(EdgeGateway.class);

  private final GatewayCore core;

  @Inject
  public EdgeGateway(EdgeConfig config, MeterRegistry meters) {
    GatewayConfig gateway = gatewayConfig(config);
    // The pool gauges need the core's placer and the core needs the listener: the listener forwards
    // new tenants through a holder that is filled before the core starts.
    PoolMetrics[] pool = new PoolMetrics[1];
    core = new GatewayCore(gateway, InstantSource.system(),
        new ForwardingMetrics(meters, tenant -> pool[0].watchTenant(tenant)));
    pool[0] = new PoolMetrics(meters, core.placer());
    core.registry().addListener(pool[0]);
    config.tenants().keySet().forEach(pool[0]::watchTenant);
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
    return new GatewayConfig(config.name(), config.pool().orElse("edge/" + config.name()),
        config.grpc().host(), config.grpc().port(), heartbeat.interval(),
        heartbeat.timeout(), TenantQuotas.of(quota(config.defaultQuota(), "spillway.edge.default-quota"),
            perTenant));
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

  void start(@Observes StartupEvent event) throws IOException {
    core.start();
    GatewayConfig c = core.config();
    LOG.infof("edge gateway %s (pool %s): gRPC sessions and node registration on %s", c.name(), c.pool(),
        core.address());
    // The launcher waits for this line, as it does for GPU nodes.
    System.out.println("READY " + core.address());
  }

  void stop(@Observes ShutdownEvent event) {
    core.close();
  }

  @Produces
  @Singleton
  GatewayCore core() {
    return core;
  }
}
