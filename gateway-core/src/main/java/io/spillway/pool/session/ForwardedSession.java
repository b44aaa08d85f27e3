package io.spillway.pool.session;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.protocol.v1.DeviceInfo;
import io.spillway.protocol.v1.Notice;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import io.spillway.security.Caller;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One session through the gateway: the client's stream, terminated here, admitted, and routed to the
 * server (or servers) that hold its slices. It holds the session's state ({@link SessionState}) and
 * its client stream; the jobs are its parts': {@link Opener} admits the first frame and acts on the
 * decision, a {@link Route} carries the admitted session, {@link FramePump} passes frames to the
 * client, {@link SpillCalls} makes lease calls, {@link SessionDeadlines} ends a stream that does not
 * open, goes idle or leaves its replies unread.
 *
 * <p>Threading: all of the session's state is confined to one serializing executor (a
 * {@link SynchronizationContext}). Transport callbacks of the client's stream and of every upstream
 * stream, timer tasks and completions of lease calls only enqueue onto it. What transports enqueue is
 * drained on the gateway's session threads ({@link SessionHost#sessionThreads}), so a frame is never
 * scanned or journaled on an event loop; other tasks run on the thread that enqueued them when no other
 * task of the session is running. Nothing here takes a lock. Calls that may block (the spill target's lease
 * calls) run on the gateway's effects executor, never here. Only the methods documented as thread-safe
 * may be called from other threads.
 */
public final class ForwardedSession extends ServerCall.Listener<RawFrame> {
  private static final Logger LOG = Logger.getLogger(ForwardedSession.class.getName());

  private final SessionHost host;
  private final ServerCall<RawFrame, RawFrame> client;
  private final SessionId id;
  private final Instant openedAt;
  private final SynchronizationContext executor;
  final FramePump pump;
  final SpillCalls spillCalls;
  private SessionState state = SessionState.OPENING;
  private Route route;
  private Op openOp;
  private boolean opened;
  private boolean halfClosedEarly;
  private Metadata closeTrailers;
  // Read by info() and the gateway's scans from other threads.
  private volatile String clientName = "";
  private volatile String leaseId;
  private volatile String centerLease;
  private volatile boolean spilled;
  volatile List<Slice> slices = List.of();
  volatile String upstreamName = "";
  volatile String nodeSessionId = "";
  volatile int replays;
  volatile String lastMove = "";

  private final Caller caller;
  private final SessionDeadlines deadlines;

  /**
   * @param caller who opened the call, read from its context on the transport thread before the call is
   *     handed to the session's executor
   */
  public ForwardedSession(SessionHost host, ServerCall<RawFrame, RawFrame> client, SessionId id, Caller caller) {
    this.caller = java.util.Objects.requireNonNull(caller, "caller");
    this.host = host;
    this.client = client;
    this.id = id;
    this.openedAt = host.clock().instant();
    this.spillCalls = new SpillCalls(host, id);
    this.executor = new SynchronizationContext((thread, e) -> {
      LOG.log(Level.SEVERE, "gateway bug in session " + id.value(), e);
      if (state != SessionState.ENDED) {
        try {
          end(Status.INTERNAL.withDescription("gateway error in session " + id.value() + ": " + e), true);
        } catch (RuntimeException again) {
          LOG.log(Level.SEVERE, "session " + id.value() + " could not be ended", again);
        }
      }
    });
    this.deadlines = new SessionDeadlines(this, host, executor);
    this.pump = new FramePump(client, host.listener(), id.value(), deadlines::sentToClient);
    deadlines.streamStarted();
    InboundProgress progress = InboundProgress.current();
    if (progress != null) {
      progress.listen(deadlines::active);
    }
  }

  // ---- thread-safe

  /** Who opened this session: the proven peer and tenant, or {@link Caller#ANONYMOUS}. */
  public Caller caller() {
    return caller;
  }

  public SessionId id() {
    return id;
  }

  /** The lease the session runs under: at a center, the edge's; at an edge, the one it borrowed. */
  public String leaseId() {
    String lease = centerLease;
    return lease != null ? lease : leaseId;
  }

  public boolean spilled() {
    return spilled;
  }

  /** What the session is now, read on its executor (waits for the task running now, if any). */
  public SessionInfo info() {
    CompletableFuture<SessionInfo> done = new CompletableFuture<>();
    executor.execute(() -> done.complete(infoNow()));
    try {
      return done.get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted reading session " + id.value(), e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("session " + id.value() + " did not answer", e);
    }
  }

  /** What was under the session was lost (its node went down, its lease was revoked): rebuild it. */
  public void fail(Status status) {
    executor.execute(() -> {
      if (state != SessionState.ENDED && route != null) {
        route.lost(status);
      }
    });
  }

  /** Ends the session without rebuilding it: the gateway stops. */
  public void shutdown(Status status) {
    executor.execute(() -> {
      if (state == SessionState.ENDED) {
        return;
      }
      if (route != null) {
        route.shutdown(status);
      } else {
        end(status, true);
      }
    });
  }

  /** On the failback timer, for spilled sessions. */
  public void tryFailBack() {
    executor.execute(() -> {
      if (state != SessionState.ENDED && route != null) {
        route.tryFailBack();
      }
    });
  }

  // ---- client stream callbacks: enqueue only

  /**
   * Runs a transport callback's work on the session's executor, drained on the gateway's session
   * threads: never on the event loop that called, however long the frame takes to scan or journal.
   */
  void fromTransport(Runnable task) {
    deadlines.active();
    executor.executeLater(task);
    host.sessionThreads().execute(executor::drain);
  }

  @Override
  public void onMessage(RawFrame frame) {
    fromTransport(() -> {
      if (state == SessionState.ENDED) {
        frame.release();
      } else if (openOp == null) {
        new Opener(this, host, executor).admit(frame);
      } else if (route != null) {
        route.fromClient(frame);
      } else {
        frame.release(); // not asked for while admission runs
      }
    });
  }

  @Override
  public void onHalfClose() {
    fromTransport(() -> {
      if (state == SessionState.ENDED) {
        return;
      }
      if (openOp == null) {
        end(Status.OK, true);
      } else if (route != null) {
        route.clientHalfClosed();
      } else {
        halfClosedEarly = true;
      }
    });
  }

  @Override
  public void onCancel() {
    fromTransport(() -> {
      if (state == SessionState.ENDED) {
        return;
      }
      if (route != null) {
        route.cancel("the client went away");
      }
      end(Status.CANCELLED, false);
    });
  }

  @Override
  public void onReady() {
    fromTransport(() -> {
      deadlines.clientReady();
      if (state != SessionState.ENDED && route != null) {
        route.clientReady();
      }
    });
  }

  // ---- admission

  /** The first frame opens the session with {@code open}, its tenant proven and checked. */
  void openWith(Op open) {
    openOp = open;
    pump.tenant = open.getOpen().getTenant();
    clientName = open.getOpen().getClientName();
  }

  Op openOp() {
    return openOp;
  }

  void route(Route route) {
    this.route = route;
  }

  /** At a center: the session runs under the edge's lease {@code lease} for its whole life. */
  void underLease(String lease) {
    centerLease = lease;
  }

  /** Called by a route once its upstream streams exist. */
  void afterRouteStarted() {
    if (halfClosedEarly) {
      route.clientHalfClosed();
    }
  }

  /** Borrows center capacity; losing the lease later moves the session if it still runs on it. */
  CompletableFuture<SpillTarget.Spill> borrow(SliceRequest asked) {
    return spillCalls.borrow(asked, (lease, st) -> executor.execute(() -> {
      if (state != SessionState.ENDED && route != null) {
        route.leaseLost(lease, st);
      }
    }));
  }

  void giveBack(SpillTarget.Spill spill) {
    spillCalls.giveBack(spill);
  }

  /** The session now runs (or will) on {@code spill}; null: on the local pool. */
  void spillingTo(SpillTarget.Spill spill) {
    spilled = spill != null;
    leaseId = spill == null ? null : spill.leaseId();
  }

  // ---- for routes, on the executor

  SessionState state() {
    return state;
  }

  void moveTo(SessionState next) {
    state = state.check(next, id.value());
  }

  boolean everOpened() {
    return opened;
  }

  String tenant() {
    return pump.tenant;
  }

  /** The upstream answered the open: the session is forwarding. */
  void opened(String upstreamSessionId) {
    nodeSessionId = upstreamSessionId;
    if (!opened) {
      deadlines.opened();
    }
    opened = true;
    moveTo(SessionState.FORWARDING);
    host.listener().sessionOpened(infoNow());
  }

  /** A spanning session's legs all opened it. */
  void openedAcrossServers(io.spillway.protocol.v1.Opened merged) {
    opened("(" + slices.stream().map(Slice::nodeId).distinct().count() + " servers)");
  }

  /** A spanning session ended. */
  void finish(Status status) {
    end(status, true);
  }

  void requestFromClient() {
    client.request(1);
  }

  boolean clientReady() {
    return client.isReady();
  }

  /** No open has come yet, nor a route: the first frame's deadline applies. */
  boolean notYetOpening() {
    return openOp == null && route == null;
  }

  /** Whether the route waits for an upstream's answer to an op (the session is not idle then). */
  boolean awaitsAnswers() {
    return route != null && route.awaitsAnswers();
  }

  /** A deadline passed: the route (if any) is cancelled and the session ends with {@code status}. */
  void expire(Status status) {
    if (route != null) {
      route.cancel(status.getDescription());
    }
    end(status, true);
  }

  void sendToClient(RawFrame frame) {
    if (state == SessionState.ENDED) {
      frame.release();
      return;
    }
    client.sendMessage(frame);
    deadlines.sentToClient();
  }

  /** Tells the client something that answers no op. */
  void notice(String message, List<DeviceInfo> devices) {
    sendToClient(RawFrame.of(ServerFrame.newBuilder().addReplies(Reply.newBuilder().setSeq(0)
        .setNotice(Notice.newBuilder().setMessage(message).addAllDevices(devices))).build()));
  }

  void noticeIfAny(String message, boolean log) {
    if (message != null && state != SessionState.ENDED) {
      if (log) {
        LOG.warning(() -> "session " + id.value() + " of tenant " + tenant() + ": " + message);
      }
      notice(message, List.of());
    }
  }

  /** Trailers the client's stream closes with. */
  void closeTrailers(Metadata trailers) {
    closeTrailers = trailers;
  }

  SessionInfo infoNow() {
    String why = route instanceof DirectRoute d ? d.whyNotReplayable()
        : host.failover().journal() ? "not journaled" : "journal off";
    long journalBytes = route instanceof DirectRoute d ? d.journalBytes() : 0;
    return new SessionInfo(id.value(), tenant(), clientName, upstreamName, nodeSessionId, slices, openedAt,
        pump.ops.get(), pump.bytesUp.get(), pump.bytesDown.get(), pump.errors.get(), why == null,
        why == null ? "" : why, journalBytes, replays, lastMove);
  }

  /**
   * Ends the session: the state changes first, then the side effects run (the client's stream closes,
   * listeners hear of it, the slices go back to the placer, the route gives back its leases).
   */
  void end(Status status, boolean closeClient) {
    if (state == SessionState.ENDED) {
      return;
    }
    moveTo(SessionState.ENDED);
    if (closeClient) {
      try {
        client.close(status, closeTrailers != null ? closeTrailers : new Metadata());
      } catch (IllegalStateException alreadyClosed) {
        // The client cancelled meanwhile.
      }
    }
    if (opened) {
      host.listener().sessionClosed(infoNow(), status);
    }
    host.unregistered(this);
    if (route != null) {
      route.release();
    }
  }
}
