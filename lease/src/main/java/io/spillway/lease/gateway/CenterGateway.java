package io.spillway.lease.gateway;

import io.spillway.lease.CenterInventory;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseManager;
import io.spillway.pool.gateway.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.gateway.GatewayListener;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A center gateway without its framework: a gateway core over the center's GPU nodes that admits
 * sessions under leases, and a lease manager competing to lead. The lease manager places leases on the
 * same placer the gateway uses, so leases and sessions share one book of center capacity.
 */
public final class CenterGateway implements AutoCloseable {

  private final GatewayCore core;
  private final String bootstrapServers;
  private final LeaseConfig leases;
  private final InstantSource clock;
  private final ScheduledExecutorService timer;
  private final LeaseClient view;
  private LeaseManager manager;

  public CenterGateway(GatewayConfig config, String bootstrapServers, LeaseConfig leases, InstantSource clock,
      GatewayListener listener) {
    // The edge that sent a session here journals and rebuilds it; the center only forwards.
    this.core = new GatewayCore(config, clock, listener).failover(io.spillway.pool.gateway.FailoverConfig.off());
    this.bootstrapServers = bootstrapServers;
    this.leases = leases;
    this.clock = clock;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-center-" + config.name());
      t.setDaemon(true);
      return t;
    });
    this.view = LeaseClient.observer(bootstrapServers, leases, clock);
  }

  /** Serves sessions and node registrations, and follows the lease log. */
  public CenterGateway start() throws Exception {
    core.start();
    view.start(Duration.ofSeconds(30));
    core.acceptLeases(new LeaseBackedAuthority(view, core, timer));
    return this;
  }

  /**
   * Joins the election of the lease leader, with the center's cards as registered so far. Call once the
   * center's nodes have registered: leases are granted on those cards only.
   */
  public synchronized LeaseManager startLeasing(String memberId) {
    manager = new LeaseManager(bootstrapServers, memberId, core.placer(),
        CenterInventory.of(core.registry().nodes()), leases, clock);
    manager.start();
    return manager;
  }

  public GatewayCore core() {
    return core;
  }

  public LeaseClient view() {
    return view;
  }

  public synchronized LeaseManager manager() {
    return manager;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (manager != null) {
        manager.close();
      }
    }
    view.close();
    timer.shutdownNow();
    core.close();
  }
}
