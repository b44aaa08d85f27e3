package io.spillway.federation;

import io.spillway.lease.CenterInventory;
import io.spillway.lease.LeaseAdmin;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseManager;
import io.spillway.lease.LeaseSigning;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.registry.Node;
import io.spillway.pool.session.GatewayListener;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A center gateway without its framework: a gateway core over the center's GPU nodes that admits
 * sessions under leases, a lease manager competing to lead, the book of every lease in the log, and the
 * lease administration (revoke, rebalance) with its one order producer. The lease manager places leases
 * on the same placer the gateway uses, so leases and sessions share one book of center capacity. The
 * center app wraps it: configuration, HTTP, health, metrics.
 */
public final class CenterGateway implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(CenterGateway.class.getName());
  /** How often the registry is looked at while waiting for the nodes of {@link #joinElectionWhenUp}. */
  private static final long POLL_MILLIS = 100;

  private final GatewayCore core;
  private final String bootstrapServers;
  private final LeaseConfig leases;
  private final InstantSource clock;
  private final ScheduledExecutorService timer;
  private final LeaseClient view;
  private final LeaseBook book = new LeaseBook();
  private final LeaseAdministration administration;
  private volatile LeaseAdmin admin;
  private LeaseManager manager;
  private volatile boolean leasing;
  private final CenterSecurity security;
  private volatile LeaseBackedAuthority authority;

  /** With admin orders waiting 5 s for Kafka and for the leader's record. */
  public CenterGateway(GatewayConfig config, String bootstrapServers, LeaseConfig leases, InstantSource clock,
      GatewayListener listener) {
    this(config, bootstrapServers, leases, clock, listener, Duration.ofSeconds(5));
  }

  /** Plaintext, with no identity required of callers ({@link CenterSecurity#none()}). */
  public CenterGateway(GatewayConfig config, String bootstrapServers, LeaseConfig leases, InstantSource clock,
      GatewayListener listener, Duration adminTimeout) {
    this(config, bootstrapServers, leases, clock, listener, adminTimeout, CenterSecurity.none());
  }

  /**
   * @param adminTimeout how long an admin order may take to reach Kafka, and then to show in the log
   * @param security who may call: the interceptors that prove callers, and whether an edge must be proven
   */
  public CenterGateway(GatewayConfig config, String bootstrapServers, LeaseConfig leases, InstantSource clock,
      GatewayListener listener, Duration adminTimeout, CenterSecurity security) {
    // The edge that sent a session here journals and rebuilds it; the center only forwards.
    this.core = new GatewayCore(config, clock, listener, security.interceptors()).failover(FailoverConfig.off());
    this.security = security;
    this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    this.leases = Objects.requireNonNull(leases, "leases");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.administration = new LeaseAdministration(book, () -> Optional.ofNullable(admin), adminTimeout);
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-center-" + config.name());
      t.setDaemon(true);
      return t;
    });
    this.view = LeaseClient.observer(bootstrapServers, leases, clock);
    // Before the view starts, so that the book hears the lease log from its first record.
    view.addListener(book);
  }

  /** Serves sessions and node registrations, follows the lease log, and opens the admin order producer. */
  public CenterGateway start() throws Exception {
    // Before the core serves: no session is ever placed here outside the lease book, not even at start.
    authority = new LeaseBackedAuthority(view, core, timer, security.edgeIdentityRequired());
    core.acceptLeases(authority);
    core.start();
    view.start(Duration.ofSeconds(30));
    LeaseAdmin orders = new LeaseAdmin(bootstrapServers, "center", leases.kafka(), leases.kafkaProperties());
    security.leaseSecret().ifPresent(secret -> orders.signWith(LeaseSigning.adminKey(secret)));
    admin = orders;
    return this;
  }

  /**
   * Joins the election of the lease leader, with the center's cards as registered so far. Call once the
   * center's nodes have registered: leases are granted on those cards only.
   */
  public synchronized LeaseManager startLeasing(String memberId) {
    manager = new LeaseManager(bootstrapServers, memberId, core.placer(),
        CenterInventory.of(core.registry().nodes()), leases, clock);
    security.leaseSecret().ifPresent(secret -> manager.verifying(LeaseSigning.verifier(secret)));
    manager.start();
    leasing = true;
    return manager;
  }

  /**
   * Joins the election (as {@link #startLeasing}) once {@code minNodes} nodes are up and {@code delay} more
   * has passed for the rest of the center's nodes to register; returns at once. A node that registers
   * later serves no lease until the replica restarts. A failure to join is logged and leaves
   * {@link #leasing()} false.
   */
  public void joinElectionWhenUp(String memberId, int minNodes, Duration delay) {
    if (minNodes < 1) {
      throw new IllegalArgumentException("minNodes is " + minNodes + "; it must be >= 1");
    }
    timer.schedule(() -> waitForNodes(memberId, minNodes, delay), 0, TimeUnit.MILLISECONDS);
  }

  private void waitForNodes(String memberId, int minNodes, Duration delay) {
    if (nodesUp() < minNodes) {
      timer.schedule(() -> waitForNodes(memberId, minNodes, delay), POLL_MILLIS, TimeUnit.MILLISECONDS);
      return;
    }
    timer.schedule(() -> {
      try {
        startLeasing(memberId);
      } catch (RuntimeException e) {
        LOG.log(Level.ERROR, "center gateway " + core.config().name() + " could not join the lease election as "
            + memberId, e);
        return;
      }
      LOG.log(Level.INFO, "center gateway " + core.config().name() + " joined the lease election as " + memberId
          + " with " + core.registry().nodes().stream().filter(Node::isUp).mapToLong(n -> n.gpus().size()).sum()
          + " card(s) on " + nodesUp() + " node(s)");
    }, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private long nodesUp() {
    return core.registry().nodes().stream().filter(Node::isUp).count();
  }

  /** True once this replica has joined the lease election. */
  public boolean leasing() {
    return leasing;
  }

  /** True while this replica's lease manager is the leader. */
  public synchronized boolean leader() {
    return manager != null && manager.isLeader();
  }

  public GatewayCore core() {
    return core;
  }

  /** The admission of sessions under leases; set by {@link #start}. */
  public LeaseBackedAuthority authority() {
    return authority;
  }

  /** The lease timings and Kafka client settings this gateway runs with. */
  public LeaseConfig leaseConfig() {
    return leases;
  }

  public LeaseClient view() {
    return view;
  }

  /** Every lease of every edge as the log says now; it hears the log from offset 0. */
  public LeaseBook book() {
    return book;
  }

  /** Revoke and rebalance; their orders go out once the gateway has started. */
  public LeaseAdministration administration() {
    return administration;
  }

  public synchronized LeaseManager manager() {
    return manager;
  }

  @Override
  public void close() {
    // The timer first: no election is joined after this, and no admission check runs on a closed view.
    timer.shutdownNow();
    synchronized (this) {
      if (manager != null) {
        manager.close();
      }
    }
    LeaseAdmin a = admin;
    if (a != null) {
      a.close();
    }
    view.close();
    core.close();
  }
}
