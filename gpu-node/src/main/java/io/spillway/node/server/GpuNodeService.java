package io.spillway.node.server;

import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.spillway.node.GpuNode;
import io.spillway.node.session.NodeSession;
import io.spillway.node.session.OpException;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The node's gRPC front: adapts session streams to {@link GpuNode} and {@link NodeSession}.
 *
 * <p>Flow control: the stream holds at most two frames (one executing, one parsed and waiting) and asks
 * the transport for another only when one has been executed, so a busy GPU stops reading and HTTP/2
 * flow control slows the sender. Replies wait for the transport to be ready, so a client that stops reading stalls its own
 * session and nothing else.
 *
 * <p>Threading: transport callbacks only enqueue; every frame of a session runs on the session's
 * {@link SerialExecutor} over the shared {@code sessionExecutor}.
 */
public final class GpuNodeService {
  private static final Logger LOG = Logger.getLogger(GpuNodeService.class.getName());

  /** How long a reply may wait for a client that does not read before the session is dropped. */
  private static final long READY_WAIT_NANOS = TimeUnit.SECONDS.toNanos(60);

  private final GpuNode node;
  private final Executor sessionExecutor;

  public GpuNodeService(GpuNode node, Executor sessionExecutor) {
    this.node = node;
    this.sessionExecutor = sessionExecutor;
  }

  /** The service definition: the protocol's method, with a request marshaller that tolerates garbage. */
  public ServerServiceDefinition definition() {
    MethodDescriptor<FrameMarshaller.Inbound, ServerFrame> method =
        GpuSessionServiceGrpc.getSessionMethod().toBuilder(
            new FrameMarshaller(), ProtoUtils.marshaller(ServerFrame.getDefaultInstance())).build();
    return ServerServiceDefinition.builder(GpuSessionServiceGrpc.SERVICE_NAME)
        .addMethod(method, ServerCalls.asyncBidiStreamingCall(this::session))
        .build();
  }

  private StreamObserver<FrameMarshaller.Inbound> session(StreamObserver<ServerFrame> responses) {
    ServerCallStreamObserver<ServerFrame> out = (ServerCallStreamObserver<ServerFrame>) responses;
    Stream stream = new Stream(out);
    out.disableAutoRequest();
    out.setOnReadyHandler(stream::onReady);
    out.setOnCancelHandler(stream::onCancel);
    // Two frames in flight: the transport parses the next while the session executes this one.
    out.request(2);
    return stream;
  }

  private final class Stream implements StreamObserver<FrameMarshaller.Inbound>, NodeSession.ReplySink {
    private final ServerCallStreamObserver<ServerFrame> out;
    private final SerialExecutor serial = new SerialExecutor(sessionExecutor);
    private final Object readyLock = new Object();
    private ServerFrame.Builder pending = ServerFrame.newBuilder();
    private NodeSession session;
    private volatile boolean ended;

    Stream(ServerCallStreamObserver<ServerFrame> out) {
      this.out = out;
    }

    @Override
    public void onNext(FrameMarshaller.Inbound inbound) {
      serial.execute(() -> {
        if (ended) {
          inbound.release();
          return;
        }
        try {
          handle(inbound);
        } catch (RuntimeException e) {
          LOG.log(Level.SEVERE, "session " + (session == null ? "?" : session.id()) + " failed", e);
          end(Status.INTERNAL.withDescription("node error: " + e));
          return;
        } finally {
          inbound.release();
        }
        if (!ended) {
          out.request(1);
        }
      });
    }

    private void handle(FrameMarshaller.Inbound inbound) {
      inbound.parse();
      if (inbound.parseError() != null) {
        if (session == null) {
          end(Status.INVALID_ARGUMENT.withDescription(inbound.parseError()
              + " (the first frame must open the session)"));
        } else {
          session.malformed(inbound.parseError(), this);
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

    @Override
    public void reply(Reply reply) {
      pending.addReplies(reply);
    }

    @Override
    public void flush() {
      if (pending.getRepliesCount() == 0 || ended) {
        return;
      }
      awaitReady();
      out.onNext(pending.build());
      pending = ServerFrame.newBuilder();
    }

    private void awaitReady() {
      long deadline = System.nanoTime() + READY_WAIT_NANOS;
      synchronized (readyLock) {
        while (!out.isReady() && !ended) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            throw new IllegalStateException("client did not read replies for 60 s");
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

    void onCancel() {
      ended = true;
      onReady();
      serial.execute(this::releaseSession);
    }

    @Override
    public void onError(Throwable t) {
      ended = true;
      serial.execute(this::releaseSession);
    }

    @Override
    public void onCompleted() {
      serial.execute(() -> {
        if (!ended) {
          flush();
          finish();
        }
      });
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
