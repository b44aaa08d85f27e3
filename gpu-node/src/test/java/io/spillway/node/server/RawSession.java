package io.spillway.node.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import io.spillway.protocol.v1.SliceRequest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A session spoken at the wire level, frame by frame, for protocol tests: it can send bytes that are
 * not a frame at all, which the SDK never would.
 */
public final class RawSession implements AutoCloseable {

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private final ClientCall<byte[], ServerFrame> call;
  private final BlockingQueue<Reply> replies = new LinkedBlockingQueue<>();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final java.util.concurrent.atomic.AtomicInteger serverFrames = new java.util.concurrent.atomic.AtomicInteger();
  private long seq;
  /** While false, no reply is read: the session's replies pile up against HTTP/2 flow control. */
  private final java.util.concurrent.atomic.AtomicBoolean reading = new java.util.concurrent.atomic.AtomicBoolean(true);

  /** The channel this session shuts down when it closes, or null when the caller owns it. */
  private ManagedChannel owned;

  /** A session on a plaintext channel of its own to {@code address}, shut down when it closes. */
  public static RawSession connect(String address) {
    RawSession s = new RawSession(io.grpc.netty.NettyChannelBuilder.forTarget(address).usePlaintext().build());
    s.owned = s.channel;
    return s;
  }

  private final ManagedChannel channel;

  public RawSession(ManagedChannel channel) {
    this.channel = channel;
    MethodDescriptor<byte[], ServerFrame> method = GpuSessionServiceGrpc.getSessionMethod().toBuilder(
        BYTES, ProtoUtils.marshaller(ServerFrame.getDefaultInstance())).build();
    call = channel.newCall(method, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(ServerFrame message) {
        replies.addAll(message.getRepliesList());
        serverFrames.incrementAndGet();
        if (reading.get()) {
          call.request(1);
        }
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(1);
  }

  /** Stops reading replies after the frame being read now, as a client that never reads would. */
  public void stopReading() {
    reading.set(false);
  }

  /** Reads replies again. */
  public void readAgain() {
    reading.set(true);
    call.request(1);
  }

  public static SliceRequest slice(long memoryBytes, int computePercent) {
    return SliceRequest.newBuilder().setMemoryBytes(memoryBytes).setComputePercent(computePercent).build();
  }

  /** Opens the session with protocol version 1 and returns the answer, failing the test on an error. */
  public Opened open(String tenant, SliceRequest slice) throws InterruptedException {
    return open(tenant, slice, 1);
  }

  /** Opens the session with {@code version} and returns the answer, failing the test on an error. */
  public Opened open(String tenant, SliceRequest slice, int version) throws InterruptedException {
    Reply r = send(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(version).setTenant(tenant)
        .setSlice(slice)));
    assertTrue(r.hasOpened(), () -> "open failed: " + r);
    return r.getOpened();
  }

  public long nextSeq() {
    return ++seq;
  }

  /** Sends one frame of ops, numbering them; returns the seq of the last one. */
  public long frame(Op.Builder... ops) {
    ClientFrame.Builder f = ClientFrame.newBuilder();
    for (Op.Builder op : ops) {
      f.addOps(op.setSeq(nextSeq()));
    }
    call.sendMessage(f.build().toByteArray());
    return seq;
  }

  public void sendRaw(byte[] bytes) {
    call.sendMessage(bytes);
  }

  /** Sends one op in its own frame and waits for the first reply. */
  public Reply send(Op.Builder op) throws InterruptedException {
    frame(op);
    return next();
  }

  public Reply next() throws InterruptedException {
    Reply r = replies.poll(10, TimeUnit.SECONDS);
    assertNotNull(r, "no reply within 10 s; stream status: " + closed.getNow(null));
    return r;
  }

  /** Waits for a reply that is an error and checks its code and a fragment of its description. */
  public Reply expectError(Status.Code code, String fragment) throws InterruptedException {
    Reply r = next();
    assertTrue(r.hasError(), () -> "expected an error, got " + r);
    assertEquals(code.value(), r.getError().getCode(), () -> "code of " + r.getError());
    assertTrue(r.getError().getDescription().contains(fragment),
        () -> "description '" + r.getError().getDescription() + "' lacks '" + fragment + "'");
    return r;
  }

  public Status awaitClose() throws Exception {
    return closed.get(10, TimeUnit.SECONDS);
  }

  /** Server frames received so far. */
  public int serverFrames() {
    return serverFrames.get();
  }

  /** A reply already received, or null: does not wait. */
  public Reply poll() {
    return replies.poll();
  }

  public boolean isClosed() {
    return closed.isDone();
  }

  public void halfClose() {
    call.halfClose();
  }

  @Override
  public void close() {
    if (!closed.isDone()) {
      call.cancel("test done", null);
    }
    if (owned != null) {
      owned.shutdownNow();
    }
  }
}
