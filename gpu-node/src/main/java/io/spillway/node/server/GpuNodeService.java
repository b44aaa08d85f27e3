package io.spillway.node.server;

import com.google.protobuf.CodedOutputStream;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeLimits;
import io.spillway.node.session.NodeSession;
import io.spillway.node.session.OpException;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The node's gRPC front: adapts session streams to {@link GpuNode} and {@link NodeSession}.
 *
 * <p>Flow control: the stream holds at most two frames (one executing, one parsed and waiting) and asks
 * the transport for another only when one has been executed, so a busy GPU stops reading and HTTP/2
 * flow control slows the sender. Replies wait for the transport to be ready, so a client that stops reading stalls its own
 * session and nothing else, and for no longer than the reply stall timeout: then the session ends with
 * {@code RESOURCE_EXHAUSTED} and its slice is freed.
 *
 * <p>Idleness: a session is active while a frame of it arrives (bytes of it, before it is whole), runs,
 * or is answered; the idle timeout counts from the last of these.
 *
 * <p>Threading: transport callbacks only enqueue; every frame of a session runs on the session's
 * {@link SerialExecutor} over the shared {@code sessionExecutor}.
 */
public final class GpuNodeService {
  private static final Logger LOG = Logger.getLogger(GpuNodeService.class.getName());

  private final GpuNode node;
  private final Executor sessionExecutor;
  private final ScheduledExecutorService timers;
  private final NodeLimits limits;

  /**
   * @param timers runs the first-frame and idle deadlines; its tasks only enqueue on the session's
   *     executor
   */
  public GpuNodeService(GpuNode node, Executor sessionExecutor, ScheduledExecutorService timers) {
    this.node = node;
    this.sessionExecutor = sessionExecutor;
    this.timers = timers;
    this.limits = node.options().limits();
  }

  /** The service definition: the protocol's method, with a request marshaller that tolerates garbage. */
  public ServerServiceDefinition definition() {
    MethodDescriptor<FrameMarshaller.Inbound, ServerFrame> method =
        GpuSessionServiceGrpc.getSessionMethod().toBuilder(
            new FrameMarshaller(limits.maxFrameOps()), ProtoUtils.marshaller(ServerFrame.getDefaultInstance())).build();
    return ServerServiceDefinition.builder(GpuSessionServiceGrpc.SERVICE_NAME)
        .addMethod(method, ServerCalls.asyncBidiStreamingCall(this::session))
        .build();
  }

  private StreamObserver<FrameMarshaller.Inbound> session(StreamObserver<ServerFrame> responses) {
    ServerCallStreamObserver<ServerFrame> out = (ServerCallStreamObserver<ServerFrame>) responses;
    Stream stream = new Stream(out);
    InboundProgress progress = InboundProgress.current();
    if (progress != null) {
      progress.listen(stream::touch);
    }
    out.disableAutoRequest();
    out.setOnReadyHandler(stream::onReady);
    out.setOnCancelHandler(stream::onCancel);
    // Two frames in flight: the transport parses the next while the session executes this one.
    out.request(2);
    stream.armFirstFrameDeadline();
    return stream;
  }

  /** Replies waited past the reply stall timeout: unwinds the frame that was running. */
  private static final class ReplyStalled extends RuntimeException {
    ReplyStalled(String message) {
      super(message, null, false, false);
    }
  }

  private final class Stream implements StreamObserver<FrameMarshaller.Inbound>, NodeSession.ReplySink {
    private final ServerCallStreamObserver<ServerFrame> out;
    private final SerialExecutor serial = new SerialExecutor(sessionExecutor);
    private final Object readyLock = new Object();
    private ServerFrame.Builder pending = ServerFrame.newBuilder();
    /** Serialized size of {@link #pending}, kept as replies are added. */
    private long pendingBytes;
    /** Written on the session's thread; read by {@link #onCancel} on a transport thread. */
    private volatile NodeSession session;
    private volatile boolean ended;
    /**
     * System.nanoTime() when bytes of a frame last arrived, or the session last started or finished a
     * frame or sent replies; read by the idle timer.
     */
    private volatile long lastActive = System.nanoTime();
    /** Frames received and not yet executed; the session is not idle while one is. */
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();

    Stream(ServerCallStreamObserver<ServerFrame> out) {
      this.out = out;
    }

    /** Bytes of a frame arrived; on a transport thread. */
    void touch() {
      lastActive = System.nanoTime();
    }

    void armFirstFrameDeadline() {
      long millis = limits.firstFrameTimeout().toMillis();
      timers.schedule(() -> serial.execute(() -> {
        if (session == null && !ended) {
          end(Status.DEADLINE_EXCEEDED.withDescription("no open within " + millis
              + " ms of the stream's start (--first-frame-timeout " + limits.firstFrameTimeout() + ")"));
        }
      }), millis, TimeUnit.MILLISECONDS);
    }

    /** Checks for idleness when the timeout could first have passed since the session was last active. */
    private void armIdleDeadline(long delayNanos) {
      if (limits.idleTimeout().isZero() || ended) {
        return;
      }
      timers.schedule(() -> serial.execute(() -> {
        if (ended) {
          return;
        }
        long idle = System.nanoTime() - lastActive;
        long limit = limits.idleTimeout().toNanos();
        if (inFlight.get() > 0 || idle < limit) {
          armIdleDeadline(inFlight.get() > 0 ? limit : limit - idle);
          return;
        }
        LOG.info(() -> "session " + session.id() + " idle for " + TimeUnit.NANOSECONDS.toMillis(idle)
            + " ms: ended");
        end(Status.FAILED_PRECONDITION.withDescription("session " + session.id() + " sent and got no frame for "
            + TimeUnit.NANOSECONDS.toMillis(idle) + " ms (--idle-timeout " + limits.idleTimeout()
            + "); it was ended and its slice freed"));
      }), delayNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void onNext(FrameMarshaller.Inbound inbound) {
      inFlight.incrementAndGet();
      serial.execute(() -> {
        lastActive = System.nanoTime();
        if (ended) {
          inFlight.decrementAndGet();
          inbound.release();
          return;
        }
        boolean opened = session != null;
        try {
          handle(inbound);
          if (!opened && session != null) {
            armIdleDeadline(limits.idleTimeout().toNanos());
          }
        } catch (ReplyStalled e) {
          stalled(e);
          return;
        } catch (RuntimeException e) {
          LOG.log(Level.SEVERE, "session " + (session == null ? "?" : session.id()) + " failed", e);
          end(Status.INTERNAL.withDescription("node error: " + e));
          return;
        } finally {
          inbound.release();
          lastActive = System.nanoTime();
          inFlight.decrementAndGet();
        }
        if (!ended) {
          out.request(1);
        }
      });
    }

    private void handle(FrameMarshaller.Inbound inbound) {
      inbound.parse();
      if (inbound.parseError() != null) {
        Status.Code code = inbound.tooManyOps() ? Status.Code.RESOURCE_EXHAUSTED : Status.Code.INVALID_ARGUMENT;
        if (session == null) {
          end(Status.fromCode(code).withDescription(inbound.parseError()
              + " (the first frame must open the session)"));
        } else {
          session.refuseFrame(code, inbound.parseError(), this);
          flush();
        }
        return;
      }
      ClientFrame frame = inbound.frame();
      int i = 0;
      if (session == null) {
        if (frame.getOpsCount() == 0 || !frame.getOps(0).hasOpen()) {
          end(Status.INVALID_ARGUMENT.withDescription(
              "the first frame of a session must start with an open op"));
          return;
        }
        Op open = frame.getOps(0);
        try {
          GpuNode.Admitted admitted = node.open(open.getSeq(), open.getOpen());
          session = admitted.session();
          reply(Reply.newBuilder().setSeq(open.getSeq()).setOpened(admitted.opened()).build());
          LOG.fine(() -> "opened " + admitted.session().id() + " for " + open.getOpen().getTenant());
        } catch (OpException e) {
          reply(Reply.newBuilder().setSeq(open.getSeq()).setError(Error.newBuilder()
              .setCode(e.code().value()).setDescription(e.getMessage()).setOp("open").setFatal(true))
              .build());
          flush();
          end(Status.fromCode(e.code()).withDescription(e.getMessage()));
          return;
        }
        i = 1;
      }
      for (; i < frame.getOpsCount(); i++) {
        if (!session.execute(frame.getOps(i), this)) {
          flush();
          Op last = frame.getOps(i);
          if (last.hasClose()) {
            finish();
          } else {
            end(Status.FAILED_PRECONDITION.withDescription("session " + session.id()
                + " ended by a fatal error at seq " + last.getSeq()));
          }
          return;
        }
      }
      session.idle();
      flush();
    }

    /**
     * Adds a reply to the pending server frame, and sends the frame once it reaches the reply frame
     * size: a frame of many failing ops is answered as it executes, never held whole.
     */
    @Override
    public void reply(Reply reply) {
      pending.addReplies(reply);
      int size = reply.getSerializedSize();
      pendingBytes += 1 + CodedOutputStream.computeUInt32SizeNoTag(size) + size;
      if (pendingBytes >= limits.replyFrameBytes()) {
        flush();
      }
    }

    @Override
    public void flush() {
      if (pending.getRepliesCount() == 0 || ended) {
        return;
      }
      awaitReady();
      out.onNext(pending.build());
      pending = ServerFrame.newBuilder();
      pendingBytes = 0;
      lastActive = System.nanoTime();
    }

    /** Waits for the stream to take more, at most the reply stall timeout; past it throws {@link ReplyStalled}. */
    private void awaitReady() {
      long limit = limits.replyStallTimeout().toNanos();
      long start = System.nanoTime();
      synchronized (readyLock) {
        while (!out.isReady() && !ended) {
          long left = start + limit - System.nanoTime();
          if (left <= 0) {
            throw new ReplyStalled("session " + (session == null ? "?" : session.id()) + " left its replies unread"
                + " for " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms (--reply-stall-timeout "
                + limits.replyStallTimeout() + "); it was ended and its slice freed");
          }
          try {
            TimeUnit.NANOSECONDS.timedWait(readyLock, Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the client to read", e);
          }
        }
      }
    }

    void onReady() {
      synchronized (readyLock) {
        readyLock.notifyAll();
      }
    }

    /**
     * The client went away: what the session runs now is aborted from here, not behind it on the
     * session's thread, so a kernel that never ends does not keep the slice; the release follows.
     */
    void onCancel() {
      ended = true;
      abortRunning("the client cancelled the session");
      onReady();
      serial.execute(this::releaseSession);
    }

    @Override
    public void onError(Throwable t) {
      ended = true;
      abortRunning("the session's stream failed: " + t);
      serial.execute(this::releaseSession);
    }

    private void abortRunning(String why) {
      NodeSession s = session;
      if (s != null) {
        s.abort(why);
      }
    }

    @Override
    public void onCompleted() {
      serial.execute(() -> {
        if (!ended) {
          try {
            flush();
          } catch (ReplyStalled e) {
            stalled(e);
            return;
          }
          finish();
        }
      });
    }

    private void stalled(ReplyStalled e) {
      LOG.info(e::getMessage);
      abortRunning(e.getMessage());
      end(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()));
    }

    private void finish() {
      ended = true;
      releaseSession();
      out.onCompleted();
    }

    private void end(Status status) {
      ended = true;
      releaseSession();
      try {
        out.onError(status.asRuntimeException());
      } catch (IllegalStateException alreadyClosed) {
        // The call was cancelled meanwhile; nothing to tell.
      }
    }

    private void releaseSession() {
      if (session != null) {
        node.release(session);
      }
    }
  }
}
