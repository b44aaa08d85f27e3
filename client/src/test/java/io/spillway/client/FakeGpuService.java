package io.spillway.client;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Closed;
import io.spillway.protocol.v1.DeviceInfo;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.protocol.v1.Notice;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.ReadData;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import io.spillway.protocol.v1.Synchronized;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A scripted session server for one session at a time, for the SDK's own tests: it keeps each buffer as a
 * byte[] so reads return what was written, records every frame it receives, and fails launches of the
 * functions named {@code "fail"} (INVALID_ARGUMENT) and {@code "fatal"} (FAILED_PRECONDITION, fatal).
 * Copies and memsets act on those arrays; {@code get_global} of any name but {@code "missing"} binds a
 * 16-byte variable; {@code event_elapsed} answers the difference of the events' record counters, in
 * milliseconds.
 *
 * <p>It is a script, not an implementation of the protocol: it runs no kernel and checks no range, so
 * the protocol contract suite ({@code protocol-contract}) does not run against it. What it does answer,
 * it answers with the codes and descriptions the contract requires (an unknown handle is NOT_FOUND,
 * naming the op and its seq).
 */
final class FakeGpuService extends GpuSessionServiceGrpc.GpuSessionServiceImplBase {

  final List<ClientFrame> frames = new CopyOnWriteArrayList<>();
  volatile int chunkBytes = 1 << 20;
  volatile int maxFrameBytes = 0;
  volatile Status.Code openError;
  /** When false, the server reads only the Open frame until {@link #requestFrames} is called. */
  volatile boolean autoRequest = true;
  volatile boolean closedCompletes = true;

  private ServerCallStreamObserver<ServerFrame> out;

  @Override
  public StreamObserver<ClientFrame> session(StreamObserver<ServerFrame> responses) {
    ServerCallStreamObserver<ServerFrame> call = (ServerCallStreamObserver<ServerFrame>) responses;
    boolean auto = autoRequest;
    if (!auto) {
      call.disableAutoRequest();
      call.request(1);
    }
    synchronized (this) {
      out = call;
    }
    return new Session(call);
  }

  void requestFrames(int n) {
    synchronized (this) {
      out.request(n);
    }
  }

  /** Ends the current session's stream with an error, as a server or gateway dying would. */
  void breakStream(Status status) {
    synchronized (this) {
      out.onError(status.asRuntimeException());
    }
  }

  void sendNotice(String message, List<DeviceInfo> devices) {
    synchronized (this) {
      out.onNext(ServerFrame.newBuilder().addReplies(Reply.newBuilder().setSeq(0)
          .setNotice(Notice.newBuilder().setMessage(message).addAllDevices(devices))).build());
    }
  }

  List<Op> ops() {
    List<Op> all = new ArrayList<>();
    for (ClientFrame f : frames) {
      all.addAll(f.getOpsList());
    }
    return all;
  }

  static DeviceInfo device(int index, String node) {
    return DeviceInfo.newBuilder().setIndex(index).setPool("edge/test").setNode(node)
        .setGpuUuid("GPU-" + index).setModel("V100").setMemoryLimitBytes(1L << 30)
        .setComputePercent(50).setCardMemoryBytes(16L << 30).setDriver("fake").build();
  }

  private final class Session implements StreamObserver<ClientFrame> {
    private final ServerCallStreamObserver<ServerFrame> call;
    private final Map<Long, byte[]> buffers = new HashMap<>();
    private final Set<Long> modules = new HashSet<>();
    private final Map<Long, Long> events = new HashMap<>();
    private long records;
    private long failedOps;
    private boolean ended;
    /** How the stream ends once {@link #ended}: null completes it, as after close. */
    private Status endStatus;

    Session(ServerCallStreamObserver<ServerFrame> call) {
      this.call = call;
    }

    @Override
    public void onNext(ClientFrame frame) {
      frames.add(frame);
      ServerFrame.Builder replies = ServerFrame.newBuilder();
      for (Op op : frame.getOpsList()) {
        if (!ended) {
          handle(op, replies);
        }
      }
      synchronized (FakeGpuService.this) {
        if (replies.getRepliesCount() > 0) {
          call.onNext(replies.build());
        }
        if (ended && endStatus == null) {
          call.onCompleted();
        } else if (ended) {
          call.onError(endStatus.asRuntimeException());
        }
      }
    }

    private void handle(Op op, ServerFrame.Builder replies) {
      long seq = op.getSeq();
      switch (op.getKindCase()) {
        case OPEN -> {
          if (openError != null) {
            // As the node does: a fatal error, then the stream ends with the same status.
            error(replies, seq, openError, "open", "no slice fits " + op.getOpen().getSlice(), true);
            end(Status.fromCode(openError).withDescription("no slice fits"));
            return;
          }
          replies.addReplies(Reply.newBuilder().setSeq(seq).setOpened(Opened.newBuilder()
              .setSessionId("s-1").setProtocolVersion(1).setChunkBytes(chunkBytes)
              .setMaxFrameBytes(maxFrameBytes)
              .addDevices(device(0, "node-a")).addDevices(device(1, "node-a"))));
        }
        case ALLOC -> buffers.put(op.getAlloc().getHandle(), new byte[(int) op.getAlloc().getBytes()]);
        case FREE -> {
          if (buffers.remove(op.getFree().getHandle()) == null) {
            error(replies, seq, Status.Code.NOT_FOUND, "free",
                "free (seq " + seq + "): unknown handle " + op.getFree().getHandle(), false);
          }
        }
        case WRITE -> {
          byte[] b = buffer(op.getWrite().getHandle(), replies, seq, "write");
          if (b != null) {
            op.getWrite().getData().copyTo(b, (int) op.getWrite().getOffset());
          }
        }
        case FILL -> {
          byte[] b = buffer(op.getFill().getHandle(), replies, seq, "fill");
          if (b != null) {
            int from = (int) op.getFill().getOffset();
            Arrays.fill(b, from, from + (int) op.getFill().getBytes(), (byte) op.getFill().getValue());
          }
        }
        case LOAD_MODULE -> modules.add(op.getLoadModule().getModule());
        case LAUNCH -> {
          String fn = op.getLaunch().getFunction();
          if (!modules.contains(op.getLaunch().getModule())) {
            error(replies, seq, Status.Code.NOT_FOUND, "launch",
                "launch (seq " + seq + "): unknown module handle " + op.getLaunch().getModule(), false);
          } else if (fn.equals("fail")) {
            error(replies, seq, Status.Code.INVALID_ARGUMENT, "launch", "kernel fail faulted", false);
          } else if (fn.equals("fatal")) {
            error(replies, seq, Status.Code.FAILED_PRECONDITION, "launch", "context lost", true);
            end(Status.FAILED_PRECONDITION.withDescription("ended by a fatal error at seq " + seq));
          }
        }
        case READ -> {
          byte[] b = buffer(op.getRead().getHandle(), replies, seq, "read");
          if (b != null) {
            long from = op.getRead().getOffset();
            long end = from + op.getRead().getLength();
            long at = from;
            do {
              int n = (int) Math.min(chunkBytes, end - at);
              replies.addReplies(Reply.newBuilder().setSeq(seq).setReadData(ReadData.newBuilder()
                  .setOffset(at).setData(ByteString.copyFrom(b, (int) at, n))
                  .setLast(at + n == end)));
              at += n;
            } while (at < end);
          }
        }
        case SYNCHRONIZE -> replies.addReplies(Reply.newBuilder().setSeq(seq)
            .setSynchronized(Synchronized.newBuilder().setFailedOps(failedOps)));
        case CLOSE -> {
          replies.addReplies(Reply.newBuilder().setSeq(seq).setClosed(Closed.getDefaultInstance()));
          ended = closedCompletes;
        }
        case COPY -> {
          byte[] dst = buffer(op.getCopy().getDst(), replies, seq, "copy");
          byte[] src = dst == null ? null : buffer(op.getCopy().getSrc(), replies, seq, "copy");
          if (src != null) {
            System.arraycopy(src, (int) op.getCopy().getSrcOffset(), dst, (int) op.getCopy().getDstOffset(),
                (int) op.getCopy().getBytes());
          }
        }
        case MEMSET -> {
          byte[] b = buffer(op.getMemset().getHandle(), replies, seq, "memset");
          if (b != null) {
            int w = op.getMemset().getWidth();
            for (long i = 0; i < op.getMemset().getCount(); i++) {
              for (int k = 0; k < w; k++) {
                b[(int) (op.getMemset().getOffset() + i * w + k)] = (byte) (op.getMemset().getValue() >>> (8 * k));
              }
            }
          }
        }
        case LAUNCH_RAW -> {
          if (!modules.contains(op.getLaunchRaw().getModule())) {
            error(replies, seq, Status.Code.INVALID_ARGUMENT, "launch_raw",
                "unknown module " + op.getLaunchRaw().getModule(), false);
          }
        }
        case GET_GLOBAL -> {
          if (op.getGetGlobal().getName().equals("missing")) {
            error(replies, seq, Status.Code.NOT_FOUND, "get_global", "no variable missing", false);
          } else {
            buffers.put(op.getGetGlobal().getHandle(), new byte[16]);
            replies.addReplies(Reply.newBuilder().setSeq(seq)
                .setGlobalInfo(io.spillway.protocol.v1.GlobalInfo.newBuilder().setSize(16)));
          }
        }
        case EVENT_RECORD -> events.put(op.getEventRecord().getEvent(), ++records);
        case EVENT_FREE -> events.remove(op.getEventFree().getEvent());
        case EVENT_ELAPSED -> {
          Long a = events.get(op.getEventElapsed().getStart());
          Long b = events.get(op.getEventElapsed().getEnd());
          if (a == null || b == null) {
            error(replies, seq, Status.Code.NOT_FOUND, "event_elapsed", "event not recorded", false);
          } else {
            replies.addReplies(Reply.newBuilder().setSeq(seq)
                .setElapsed(io.spillway.protocol.v1.Elapsed.newBuilder().setMilliseconds(b - a)));
          }
        }
        default -> error(replies, seq, Status.Code.INVALID_ARGUMENT, "op", "unknown op", false);
      }
    }

    private void end(Status status) {
      ended = true;
      endStatus = status;
    }

    private byte[] buffer(long handle, ServerFrame.Builder replies, long seq, String op) {
      byte[] b = buffers.get(handle);
      if (b == null) {
        error(replies, seq, Status.Code.NOT_FOUND, op, op + " (seq " + seq + "): unknown handle " + handle, false);
      }
      return b;
    }

    private void error(ServerFrame.Builder replies, long seq, Status.Code code, String op, String description,
               boolean fatal) {
      failedOps++;
      replies.addReplies(Reply.newBuilder().setSeq(seq).setError(Error.newBuilder()
          .setCode(code.value()).setOp(op).setDescription(description).setFatal(fatal)));
    }

    @Override
    public void onError(Throwable t) {
    }

    @Override
    public void onCompleted() {
    }
  }
}
