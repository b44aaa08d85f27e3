package io.spillway.pool.session;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.failover.Recording;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.gateway.FailoverConfig;
import io.spillway.pool.gateway.SessionInfo;
import io.spillway.pool.gateway.SpillTarget;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.DeviceInfo;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.Notice;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One session through the gateway: the client's stream, terminated here, admitted, and routed to the
 * server (or servers) that hold its slices.
 *
 * <p>Threading: all of the session's state is confined to one serializing executor (a
 * {@link SynchronizationContext}). Transport callbacks of the client's stream and of every upstream
 * stream, timer tasks and completions of lease calls only enqueue onto it; a task runs on the thread
 * that enqueued it when no other task of the session is running, so frames are usually passed on
 * without a thread hand-off. Nothing here takes a lock. Calls that may block (the spill target's lease
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
  private SessionState state = SessionState.OPENING;
  private Route route;
  private Op openOp;
  private boolean opened;
  private boolean halfClosedEarly;
  private Metadata closeTrailers;
  // Read by info() and the gateway's scans from other threads.
  private volatile String clientName = "";
  private volatile String leaseId;
  private volatile boolean spilled;
  volatile List<Slice> slices = List.of();
  volatile String upstreamName = "";
  volatile String nodeSessionId = "";
  volatile int replays;
  volatile String lastMove = "";

  public ForwardedSession(SessionHost host, ServerCall<RawFrame, RawFrame> client, SessionId id) {
    this.host = host;
    this.client = client;
    this.id = id;
    this.openedAt = host.clock().instant();
    this.pump = new FramePump(client, host.listener(), id.value());
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
  }

  // ---- thread-safe

  public SessionId id() {
    return id;
  }

  /** The lease the session runs under: at a center, the edge's; at an edge, the one it borrowed. */
  public String leaseId() {
    return leaseId;
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

  @Override
  public void onMessage(RawFrame frame) {
    executor.execute(() -> {
      if (state == SessionState.ENDED) {
        frame.release();
      } else if (openOp == null) {
        admit(frame);
      } else if (route != null) {
        route.fromClient(frame);
      } else {
        frame.release(); // not asked for while admission runs
      }
    });
  }

  @Override
  public void onHalfClose() {
    executor.execute(() -> {
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
    executor.execute(() -> {
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
    executor.execute(() -> {
      if (state != SessionState.ENDED && route != null) {
        route.clientReady();
      }
    });
  }

  // ---- admission

  private void admit(RawFrame frame) {
    ClientFrame parsed;
    try {
      parsed = ClientFrame.parseFrom(frame.reader());
    } catch (IOException e) {
      refuse(0, Status.INVALID_ARGUMENT.withDescription("malformed first frame of " + frame.size()
          + " bytes: " + e.getMessage() + " (the first frame must open the session)"));
      return;
    } finally {
      frame.release();
    }
    if (parsed.getOpsCount() > 0 && parsed.getOps(0).hasOpen()) {
      openOp = parsed.getOps(0);
      pump.tenant = openOp.getOpen().getTenant();
      clientName = openOp.getOpen().getClientName();
    }
    String what = "open (seq " + (openOp == null ? 0 : openOp.getSeq()) + ")";
    Admission.Decision decision = Admission.decide(host, id, parsed);
    if (decision instanceof Admission.Refuse r) {
      refuse(r.seq(), r.status());
    } else if (decision instanceof Admission.Spanning s) {
      slices = s.slices();
      SpanningRoute span = new SpanningRoute(this, host, executor, id.value(), s.slices());
      route = span;
      host.registered(this);
      span.start(parsed);
      afterRouteStarted();
    } else if (decision instanceof Admission.Local l) {
      directRoute(l.request(), journal(parsed)).open(Admission.pinned(parsed, l.slices()),
          l.slices().get(0).address(), l.slices(), l.slices().get(0).nodeId(), null);
    } else if (decision instanceof Admission.UnderLease u) {
      openUnderLease(parsed, u, what);
    } else if (decision instanceof Admission.Spill s) {
      spill(parsed, s, what);
    }
  }

  /** A center gateway: the session runs on the cards of the lease the edge names. */
  private void openUnderLease(ClientFrame parsed, Admission.UnderLease u, String what) {
    host.leaseAuthority().admit(u.lease().getLeaseId(), u.lease().getEpoch(), tenant())
        .whenComplete((cards, error) -> executor.execute(() -> {
          if (error != null) {
            Status st = Status.fromThrowable(error);
            refuse(openOp.getSeq(), st.withDescription(what + ": " + st.getDescription()));
          } else if (state == SessionState.ENDED) {
            host.placer().release(id);
          } else {
            leaseId = u.lease().getLeaseId();
            directRoute(null, null).open(Admission.pinned(parsed, cards), cards.get(0).address(), cards,
                cards.get(0).nodeId(), null);
          }
        }));
  }

  /** An edge whose pool cannot take the session: borrow center capacity and open it there. */
  private void spill(ClientFrame parsed, Admission.Spill s, String what) {
    borrow(s.request()).whenComplete((spill, error) -> executor.execute(() -> {
      if (error != null) {
        refuse(openOp.getSeq(), Status.RESOURCE_EXHAUSTED.withDescription(what + ": " + s.localRefusal()
            + "; center: " + Status.fromThrowable(error).getDescription()));
      } else if (state == SessionState.ENDED) {
        giveBack(spill);
      } else {
        spillingTo(spill);
        host.listener().spilled(tenant());
        directRoute(s.request(), journal(parsed)).open(Admission.withLease(parsed, spill),
            spill.centerAddress(), List.of(), "center", spill);
      }
    }));
  }

  private DirectRoute directRoute(SliceRequest request, Recording recording) {
    DirectRoute direct = new DirectRoute(this, host, executor, recording, request, openOp);
    route = direct;
    return direct;
  }

  /** Called by a route once its upstream streams exist. */
  void afterRouteStarted() {
    if (halfClosedEarly) {
      route.clientHalfClosed();
    }
  }

  /** An edge journals its single-server sessions, from the ops that follow the open in the first frame. */
  private Recording journal(ClientFrame first) {
    FailoverConfig f = host.failover();
    if (!f.journal()) {
      return null;
    }
    Recording r = new Recording(f.maxSessionBytes(), host.journalBudget());
    noticeIfAny(r.onFirstFrame(first), false);
    return r;
  }

  /**
   * Borrows center capacity on the effects executor; losing the lease later moves the session if it
   * still runs on it. The future completes on whatever thread the spill target completes it.
   */
  CompletableFuture<SpillTarget.Spill> borrow(SliceRequest asked) {
    SpillTarget target = host.spillTarget();
    AtomicReference<String> lease = new AtomicReference<>();
    CompletableFuture<SpillTarget.Spill> result = new CompletableFuture<>();
    host.effects().execute(() -> {
      try {
        target.borrow(id, asked, st -> executor.execute(() -> {
          if (state != SessionState.ENDED && route != null) {
            route.leaseLost(lease.get(), st);
          }
        })).whenComplete((spill, error) -> {
          if (spill != null) {
            lease.set(spill.leaseId());
            result.complete(spill);
          } else {
            result.completeExceptionally(error);
          }
        });
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    });
    return result;
  }

  /** Gives a lease back, off this executor. */
  void giveBack(SpillTarget.Spill spill) {
    SpillTarget target = host.spillTarget();
    host.effects().execute(() -> target.giveBack(spill));
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

  void sendToClient(RawFrame frame) {
    if (state == SessionState.ENDED) {
      frame.release();
      return;
    }
    client.sendMessage(frame);
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

  /** Refuses an open: an error reply naming the op, then the stream ends with the same status. */
  private void refuse(long seq, Status status) {
    host.listener().openRefused(tenant(), status.getCode());
    if (state == SessionState.ENDED) {
      return;
    }
    if (seq != 0) {
      sendToClient(RawFrame.of(ServerFrame.newBuilder().addReplies(Reply.newBuilder().setSeq(seq)
          .setError(Error.newBuilder().setCode(status.getCode().value()).setOp("open")
              .setDescription(status.getDescription()).setFatal(true))).build()));
    }
    end(status, true);
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
