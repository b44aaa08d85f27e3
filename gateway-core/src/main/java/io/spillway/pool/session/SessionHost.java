package io.spillway.pool.session;

import io.grpc.ClientCall;
import io.grpc.Status;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.failover.JournalBudget;
import io.spillway.pool.failover.Scheduler;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.placement.SlicePlacer;
import java.time.InstantSource;
import java.util.concurrent.Executor;

/** What a gateway gives its sessions. Every method is thread-safe and returns without blocking. */
public interface SessionHost {
  GatewayConfig config();

  FailoverConfig failover();

  SlicePlacer placer();

  /** Where sessions spill, or null when the gateway does not spill (a center, an edge without one). */
  SpillTarget spillTarget();

  /** Which tenants are admitted, and whether they must prove it. */
  TenantPolicy tenantPolicy();

  /** Admits sessions under leases, or null when the gateway does not lend (an edge). */
  LeaseAuthority leaseAuthority();

  GatewayListener listener();

  JournalBudget journalBudget();

  /** The gateway's timer: rebuild attempts, the rebuilt-open timeout, deferred asks. */
  Scheduler scheduler();

  /**
   * Where calls that may block run (the spill target's lease calls, which send to Kafka), so that they
   * never run on a transport thread or a session's executor. A pool: a call that hangs holds up no
   * other; each session orders its own calls.
   */
  Executor effects();

  /**
   * Where sessions' executors run what transports hand them (frames to scan, journal and route), so
   * that no frame is read on a transport's event loop. Tasks on it never block.
   */
  Executor sessionThreads();

  InstantSource clock();

  /** A new, unstarted call of the session method to the node or gateway at {@code address}. */
  ClientCall<RawFrame, RawFrame> newUpstreamCall(String address);

  void registered(ForwardedSession session);

  /** The session ended: it leaves the gateway's table and its slices go back to the placer. */
  void unregistered(ForwardedSession session);

  /** A stream to node {@code nodeId} broke with {@code UNAVAILABLE}: mark it down now (on the timer). */
  void nodeUnreachable(String nodeId, Status status);

  /** True while the gateway serves; a stopping gateway does not rebuild sessions. */
  boolean serving();
}
