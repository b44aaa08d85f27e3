package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.testkit.Await;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The gateway's own limits on what one client sends: each refused with a status naming it. */
class GatewayLimitsTest {

  private static final long GIB = 1L << 30;

  /** A session spoken frame by frame, as a hostile client would. */
  private static final class Raw implements AutoCloseable {
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

    final ManagedChannel channel;
    final ClientCall<byte[], ServerFrame> call;
    final BlockingQueue<Reply> replies = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    long seq;

    Raw(String address) {
      channel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
      call = channel.newCall(GpuSessionServiceGrpc.getSessionMethod().toBuilder(BYTES,
          ProtoUtils.marshaller(ServerFrame.getDefaultInstance())).build(), CallOptions.DEFAULT);
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onMessage(ServerFrame message) {
          replies.addAll(message.getRepliesList());
          call.request(1);
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          closed.complete(status);
        }
      }, new Metadata());
      call.request(1);
    }

    void frame(Op.Builder... ops) {
      ClientFrame.Builder f = ClientFrame.newBuilder();
      for (Op.Builder op : ops) {
        f.addOps(op.setSeq(++seq));
      }
      call.sendMessage(f.build().toByteArray());
    }

    Reply next() throws InterruptedException {
      Reply r = replies.poll(10, TimeUnit.SECONDS);
      assertNotNull(r, "no reply within 10 s; stream status: " + closed.getNow(null));
      return r;
    }

    void open() throws InterruptedException {
      frame(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(1).setTenant("t")
          .setSlice(SliceRequest.newBuilder().setMemoryBytes(1 << 20))));
      Reply r = next();
      assertTrue(r.hasOpened(), r::toString);
    }

    Status awaitClose() throws Exception {
      return closed.get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
      call.cancel("test done", null);
      channel.shutdownNow();
    }
  }

  private static TestPool pool(GatewayConfig.Limits limits) throws Exception {
    TestPool pool = new TestPool(GatewayConfig.local("edge-l", "edge/l").withLimits(limits));
    pool.addNode("node-a", 1, "V100", 32 * GIB);
    return pool;
  }

  @Test
  void aFrameOverTheOpLimitIsRefusedWholeAndTheSessionGoesOn() throws Exception {
    try (TestPool pool = pool(GatewayConfig.Limits.defaults().withMaxFrameOps(8));
        Raw s = new Raw(pool.gateway.address())) {
      s.open();
      Op.Builder[] ops = new Op.Builder[9];
      for (int i = 0; i < ops.length; i++) {
        ops[i] = Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(1 + i).setBytes(64));
      }
      s.frame(ops);
      Reply r = s.next();
      assertTrue(r.hasError(), r::toString);
      assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), r.getError().getCode());
      assertTrue(r.getError().getDescription().contains("max-frame-ops 8"), r.getError().getDescription());
      // Nothing of it reached the node: handle 1 is free.
      s.frame(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(1).setBytes(64)),
          Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance()));
      Reply sync = s.next();
      assertTrue(sync.hasSynchronized(), sync::toString);
      assertEquals(0, sync.getSynchronized().getFailedOps());
    }
  }

  @Test
  void aStreamThatNeverOpensIsEndedAtTheFirstFrameDeadline() throws Exception {
    try (TestPool pool = pool(GatewayConfig.Limits.defaults().withFirstFrameTimeout(Duration.ofMillis(200)));
        Raw silent = new Raw(pool.gateway.address())) {
      Status status = silent.awaitClose();
      assertEquals(Status.Code.DEADLINE_EXCEEDED, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("first-frame-timeout"), status::getDescription);
    }
  }

  @Test
  void anIdleSessionIsEndedAndItsSliceGoesBack() throws Exception {
    try (TestPool pool = pool(GatewayConfig.Limits.defaults().withIdleTimeout(Duration.ofMillis(300)));
        Raw s = new Raw(pool.gateway.address())) {
      s.open();
      Status status = s.awaitClose();
      assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("idle-timeout"), status::getDescription);
      GpuNodeServer node = pool.nodes.get(0);
      Await.until("the node released the idle session", () -> node.node().sessions().isEmpty());
      Await.until("the gateway forgot it", () -> pool.gateway.sessions().isEmpty());
    }
  }
}
