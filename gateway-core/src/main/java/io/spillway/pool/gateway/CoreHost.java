package io.spillway.pool.gateway;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Status;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.failover.JournalBudget;
import io.spillway.pool.failover.Scheduler;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.session.ForwardedSession;
import io.spillway.pool.session.GatewayListener;
import io.spillway.pool.session.LeaseAuthority;
import io.spillway.pool.session.SessionHost;
import io.spillway.pool.session.SpillTarget;
import io.spillway.pool.session.TenantPolicy;
import java.time.InstantSource;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/** What a {@link GatewayCore} gives its sessions. */
final class CoreHost implements SessionHost {
  private static final Logger LOG = Logger.getLogger(CoreHost.class.getName());

  private final GatewayCore core;
  private final Map<SessionId, ForwardedSession> sessions;
  private final Scheduler scheduler;
  private final ExecutorService effects;
  private final Executor sessionThreads;

  CoreHost(GatewayCore core, Map<SessionId, ForwardedSession> sessions, Scheduler scheduler,
      ExecutorService effects, Executor sessionThreads) {
    this.sessionThreads = sessionThreads;
    this.core = core;
    this.sessions = sessions;
    this.scheduler = scheduler;
    this.effects = effects;
  }

  @Override
  public Executor sessionThreads() {
    return sessionThreads;
  }

  @Override
  public GatewayConfig config() {
    return core.config();
  }

  @Override
  public FailoverConfig failover() {
    return core.failoverConfig();
  }

  @Override
  public SlicePlacer placer() {
    return core.placer();
  }

  @Override
  public SpillTarget spillTarget() {
    return core.spillTarget();
  }

  @Override
  public TenantPolicy tenantPolicy() {
    return core.tenantPolicy();
  }

  @Override
  public LeaseAuthority leaseAuthority() {
    return core.leaseAuthority();
  }

  @Override
  public GatewayListener listener() {
    return core.listener();
  }

  @Override
  public JournalBudget journalBudget() {
    return core.journalBudget();
  }

  @Override
  public Scheduler scheduler() {
    return scheduler;
  }

  @Override
  public Executor effects() {
    return task -> {
      try {
        effects.execute(() -> {
          try {
            task.run();
          } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "gateway side effect failed", e);
          }
        });
      } catch (RejectedExecutionException stopping) {
        // The gateway is shutting down; what it lent is given back by its owner.
      }
    };
  }

  @Override
  public InstantSource clock() {
    return core.clock();
  }

  @Override
  public ClientCall<RawFrame, RawFrame> newUpstreamCall(String address) {
    return core.channelTo(address).newCall(GatewayCore.NODE_METHOD, CallOptions.DEFAULT);
  }

  @Override
  public void registered(ForwardedSession s) {
    sessions.put(s.id(), s);
  }

  @Override
  public void unregistered(ForwardedSession s) {
    sessions.remove(s.id());
    core.placer().release(s.id());
    LeaseAuthority authority = core.leaseAuthority();
    if (authority != null) {
      authority.ended(s.id());
    }
  }

  @Override
  public void nodeUnreachable(String nodeId, Status status) {
    core.nodeUnreachable(nodeId, status);
  }

  @Override
  public boolean serving() {
    return core.serving();
  }
}
