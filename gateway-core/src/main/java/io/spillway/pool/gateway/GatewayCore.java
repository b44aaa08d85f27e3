package io.spillway.pool.gateway;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.failover.JournalBudget;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.registry.Node;
import io.spillway.pool.registry.NodeRegistry;
import io.spillway.pool.session.ForwardedSession;
import io.spillway.pool.session.GatewayListener;
import io.spillway.pool.session.InboundProgress;
import io.spillway.pool.session.LeaseAuthority;
import io.spillway.pool.session.SessionHost;
import io.spillway.pool.session.SessionInfo;
import io.spillway.pool.session.SpillTarget;
import io.spillway.pool.session.TenantPolicy;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.security.Caller;
import java.io.IOException;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A gateway without its framework: the node registry, the slice placer, the forwarding of session
 * streams to the nodes that hold them, and the registration service nodes call. The edge (and later the
 * center) Quarkus app wraps it; tests and the launcher run it directly. This class wires the parts and
 * owns their life (start, close); its network (event loops, the server, upstream channels, TLS) is
 * {@link GatewayServers}'.
 *
 * <p>A client cannot tell a gateway from a node: the gateway serves the node's session service, places
 * each session on a slice of one of its nodes' cards, and forwards the stream there.
 *
 * <p>Threads: the Netty event loops (shared by client and upstream connections) run transport callbacks,
 * which only enqueue onto each session's serializing executor; the timer thread runs liveness checks,
 * failback scans, rebuild attempts and timeouts; the effects pool runs the spill target's lease calls,
 * which may block on Kafka, so that neither an event loop nor a session waits on them; the registration
 * thread runs nodes' registrations and heartbeats and nothing else, so that sessions' work (however
 * much a tenant floods) never delays the heartbeats that keep a healthy node in the pool.
 */
public final class GatewayCore implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(GatewayCore.class.getName());

  /** The session method with frames passed through as bytes. */
  static final MethodDescriptor<RawFrame, RawFrame> NODE_METHOD =
      GpuSessionServiceGrpc.getSessionMethod().toBuilder(RawFrame.MARSHALLER, RawFrame.MARSHALLER).build();

  private final GatewayConfig config;
  private final InstantSource clock;
  private final GatewayListener listener;
  private final NodeRegistry registry;
  private final SlicePlacer placer;
  private final Map<SessionId, ForwardedSession> sessions = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;
  private final ExecutorService effects;
  private final ExecutorService sessionThreads;
  private final ExecutorService registrationThread;
  private final SessionHost host;
  private volatile LeaseAuthority leaseAuthority;
  private volatile SpillTarget spillTarget;
  private volatile TenantPolicy tenantPolicy = TenantPolicy.open();
  private volatile FailoverConfig failover = FailoverConfig.defaults();
  private final JournalBudget journalBudget = new JournalBudget(() -> failover.maxGatewayBytes());
  private final GatewayServers servers;
  private final Server server;

  public GatewayCore(GatewayConfig config, InstantSource clock, GatewayListener listener) {
    this(config, clock, listener, List.of());
  }

  /**
   * A gateway whose session and registration services run behind {@code interceptors} (the first runs
   * first): the security layer's, which put the proven {@link Caller} into each call's context. With
   * {@link GatewayConfig#tls()}, the TLS interceptor that sets {@link Caller#PEER} runs before them.
   */
  public GatewayCore(GatewayConfig config, InstantSource clock, GatewayListener listener,
      List<ServerInterceptor> interceptors) {
    this.config = config;
    this.clock = clock;
    this.listener = listener;
    this.registry = new NodeRegistry(config.heartbeatTimeout(), clock);
    this.placer = new SlicePlacer(config.quotas());
    registry.addListener(placer);
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-gateway-" + config.name());
      t.setDaemon(true);
      return t;
    });
    // Lease calls block at most for the lease client's own bound (max.block.ms); threads live while busy.
    java.util.concurrent.atomic.AtomicInteger effectThreads = new java.util.concurrent.atomic.AtomicInteger();
    this.effects = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "spillway-gateway-effects-" + config.name() + "-" + effectThreads.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    // Sessions scan, journal and route their frames here, never on the transport's event loops.
    java.util.concurrent.atomic.AtomicInteger sessionThreadCount = new java.util.concurrent.atomic.AtomicInteger();
    this.sessionThreads = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
        r -> {
          Thread t = new Thread(r, "spillway-gateway-session-" + config.name() + "-"
              + sessionThreadCount.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    this.registrationThread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "spillway-gateway-registration-" + config.name());
      t.setDaemon(true);
      return t;
    });
    this.host = new CoreHost(this, sessions, this::schedule, effects, sessionThreads);
    // Slices lost with their node: end those sessions with UNAVAILABLE, off the registry's thread.
    placer.addListener((nodeId, lost, reason) -> timer.execute(() -> {
      for (SessionId sid : lost) {
        ForwardedSession s = sessions.get(sid);
        if (s != null) {
          s.fail(Status.UNAVAILABLE.withDescription("node " + nodeId + " holding session " + sid.value()
              + " is down: " + reason));
        }
      }
    }));
    ServerServiceDefinition sessionsService = ServerServiceDefinition
        .builder(GpuSessionServiceGrpc.SERVICE_NAME)
        .addMethod(NODE_METHOD, new ServerCallHandler<RawFrame, RawFrame>() {
          @Override
          public ServerCall.Listener<RawFrame> startCall(ServerCall<RawFrame, RawFrame> call, Metadata headers) {
            ForwardedSession s = new ForwardedSession(host, call,
                SessionId.of(config.name() + "-" + UUID.randomUUID().toString().substring(0, 13)),
                Caller.current());
            call.sendHeaders(new Metadata());
            call.request(1);
            return s;
          }
        })
        .build();
    this.servers = new GatewayServers(config, registry,
        List.of(sessionsService, new RegistrationService(this, registrationThread).bindService()), interceptors,
        List.of(InboundProgress.FACTORY));
    this.server = servers.server();
  }

  /** Makes this a center gateway: sessions opened under a lease run on the lease's cards. */
  public GatewayCore acceptLeases(LeaseAuthority authority) {
    this.leaseAuthority = authority;
    return this;
  }

  /** Sets which tenants are admitted and whether they must prove it (default {@link TenantPolicy#open()}). */
  public GatewayCore tenants(TenantPolicy policy) {
    this.tenantPolicy = java.util.Objects.requireNonNull(policy, "policy");
    return this;
  }

  public TenantPolicy tenantPolicy() {
    return tenantPolicy;
  }

  /** Makes this an edge that spills: sessions its pool cannot take are opened on the center. */
  public GatewayCore spillTo(SpillTarget target) {
    this.spillTarget = target;
    return this;
  }

  /** Sets how sessions are journaled and replayed when their upstream is lost (default: journal on). */
  public GatewayCore failover(FailoverConfig config) {
    this.failover = java.util.Objects.requireNonNull(config, "config");
    return this;
  }

  public FailoverConfig failoverConfig() {
    return failover;
  }

  /** Bytes the journals of all sessions hold now. */
  public long journalBytes() {
    return journalBudget.bytes();
  }

  /** Runs {@code task} on the gateway's timer thread after {@code delayMillis}. */
  void schedule(Runnable task, long delayMillis) {
    try {
      timer.schedule(() -> {
        try {
          task.run();
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "gateway task failed", e);
        }
      }, delayMillis, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      // The gateway is shutting down; its sessions end with it.
    }
  }

  /** Ends the sessions running under a lease that is no longer live (revoked, expired). */
  public void leaseLost(String leaseId, Status status) {
    for (ForwardedSession s : List.copyOf(sessions.values())) {
      if (leaseId.equals(s.leaseId())) {
        s.fail(status);
      }
    }
  }

  /** Starts serving and checking node liveness. */
  public GatewayCore start() throws IOException {
    server.start();
    long period = Math.max(50, config.heartbeatInterval().toMillis() / 2);
    timer.scheduleAtFixedRate(this::checkLiveness, period, period, TimeUnit.MILLISECONDS);
    long failback = failover.failbackInterval().toMillis();
    timer.scheduleAtFixedRate(this::failBack, failback, failback, TimeUnit.MILLISECONDS);
    GatewayConfig.Transport t = config.transport();
    UpstreamProbe probe = new UpstreamProbe(servers.channels(), t.keepAliveTimeout(), (address, why) -> { });
    long every = t.keepAliveTime().toMillis();
    timer.scheduleAtFixedRate(probe::probe, every, every, TimeUnit.MILLISECONDS);
    LOG.info(() -> "gateway " + config.name() + " (pool " + config.pool() + ") listening on "
        + config.host() + ":" + server.getPort() + (servers.tls() == null ? " in plaintext"
            : " with TLS as " + servers.tls().certificate().getSubjectX500Principal() + " (client certificates "
                + (config.tls().get().requireClientCertificates() ? "required" : "optional") + ")"));
    return this;
  }

  /** Offers local capacity to spilled sessions, per the failback policy. */
  private void failBack() {
    if (failover.failback() == FailoverConfig.Failback.NEVER || spillTarget == null) {
      return;
    }
    try {
      for (ForwardedSession s : List.copyOf(sessions.values())) {
        if (s.spilled()) {
          s.tryFailBack();
        }
      }
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "failback check failed", e);
    }
  }

  private void checkLiveness() {
    try {
      for (Node down : registry.checkLiveness()) {
        LOG.warning(() -> "node " + down.id() + " missed its heartbeats; its GPUs leave the pool");
      }
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "liveness check failed", e);
    }
  }

  public int grpcPort() {
    return server.getPort();
  }

  public String address() {
    return config.host() + ":" + server.getPort();
  }

  public GatewayConfig config() {
    return config;
  }

  public NodeRegistry registry() {
    return registry;
  }

  public SlicePlacer placer() {
    return placer;
  }

  public InstantSource clock() {
    return clock;
  }

  /** True while the gRPC server (sessions and node registration) is serving. */
  public boolean serving() {
    return !server.isShutdown();
  }

  /** True once at least one node is up: the gateway can place sessions. */
  public boolean ready() {
    return registry.nodes().stream().anyMatch(Node::isUp);
  }

  /** The sessions being forwarded now. */
  public List<SessionInfo> sessions() {
    return sessions.values().stream().map(ForwardedSession::info).toList();
  }

  SpillTarget spillTarget() {
    return spillTarget;
  }

  LeaseAuthority leaseAuthority() {
    return leaseAuthority;
  }

  GatewayListener listener() {
    return listener;
  }

  JournalBudget journalBudget() {
    return journalBudget;
  }

  /**
   * A session's stream to a node broke with {@code UNAVAILABLE} (connection refused or reset): the node
   * is marked down at once rather than after its heartbeats time out, so new sessions are not placed on
   * a dead server meanwhile. A node that is in fact alive registers again on its next heartbeat. Runs off
   * the transport thread, since marking down ends the node's other sessions.
   */
  void nodeUnreachable(String nodeId, Status status) {
    timer.execute(() -> registry.node(nodeId).filter(Node::isUp).ifPresent(n -> {
      LOG.warning(() -> "node " + nodeId + " is unreachable (" + status.getCode() + " "
          + status.getDescription() + "); its GPUs leave the pool until it registers again");
      registry.markDown(nodeId, "unreachable: " + status.getCode() + " " + status.getDescription());
    }));
  }

  /** True when the gateway's server and connections use TLS. */
  public boolean tls() {
    return servers.tls() != null;
  }

  /** One channel per node address, shared by all sessions on that node. */
  ManagedChannel channelTo(String address) {
    return servers.channelTo(address);
  }

  @Override
  public void close() {
    servers.stopServing();
    for (ForwardedSession s : List.copyOf(sessions.values())) {
      s.shutdown(Status.UNAVAILABLE.withDescription("gateway " + config.name() + " is shutting down"));
    }
    timer.shutdownNow();
    effects.shutdown();
    sessionThreads.shutdown();
    registrationThread.shutdown();
    servers.close();
  }
}
