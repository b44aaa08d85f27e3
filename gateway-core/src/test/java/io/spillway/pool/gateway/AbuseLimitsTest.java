package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.StreamObserver;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.node.server.SlowLink;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.registry.Node;
import io.spillway.pool.registry.NodeListener;
import io.spillway.pool.session.GatewayListener;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.GpuCard;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.protocol.v1.NodeRegistryServiceGrpc;
import io.spillway.protocol.v1.Notice;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.RegisterNodeRequest;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.protocol.v1.Write;
import io.spillway.testkit.Await;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * What the abuse run found at the edge, each over real gRPC: a frame still arriving is not idleness, a
 * reply from upstream is activity, a client that reads no reply is cut off, and a flooding tenant does
 * not make the gateway miss a healthy node's heartbeats.
 */
class AbuseLimitsTest {

  private static final long GIB = 1L << 30;

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

  /** A session spoken frame by frame; it reads replies only while {@link #reading} is set. */
  private static final class Raw implements AutoCloseable {
    final ManagedChannel channel;
    final ClientCall<byte[], ServerFrame> call;
    final BlockingQueue<Reply> replies = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    final AtomicBoolean reading = new AtomicBoolean(true);
    long seq;

    final boolean ownsChannel;

    Raw(String address) {
      this(NettyChannelBuilder.forTarget(address).usePlaintext().maxInboundMessageSize(256 << 20).build(), true);
    }

    /** A stream on {@code channel}, which it shuts down on close if it {@code owns} it. */
    Raw(ManagedChannel channel, boolean owns) {
      this.channel = channel;
      this.ownsChannel = owns;
      call = channel.newCall(GpuSessionServiceGrpc.getSessionMethod().toBuilder(BYTES,
          ProtoUtils.marshaller(ServerFrame.getDefaultInstance())).build(), CallOptions.DEFAULT);
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onMessage(ServerFrame message) {
          replies.addAll(message.getRepliesList());
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

    void frame(Op.Builder... ops) {
      ClientFrame.Builder f = ClientFrame.newBuilder();
      for (Op.Builder op : ops) {
        f.addOps(op.setSeq(++seq));
      }
      call.sendMessage(f.build().toByteArray());
    }

    Reply next() throws InterruptedException {
      Reply r = replies.poll(20, TimeUnit.SECONDS);
      assertNotNull(r, "no reply within 20 s; stream status: " + closed.getNow(null));
      return r;
    }

    void open(long bytes) throws InterruptedException {
      frame(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(1).setTenant("t")
          .setSlice(SliceRequest.newBuilder().setMemoryBytes(bytes))));
      Reply r = next();
      assertTrue(r.hasOpened(), r::toString);
    }

    Status awaitClose() throws Exception {
      return closed.get(20, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
      call.cancel("test done", null);
      if (ownsChannel) {
        channel.shutdownNow();
      }
    }
  }

  private static TestPool pool(GatewayConfig.Limits limits) throws Exception {
    TestPool pool = new TestPool(GatewayConfig.local("edge-abuse", "edge/a").withLimits(limits));
    pool.addNode("node-a", 1, "V100", 32 * GIB);
    return pool;
  }

  @Test
  void aFrameStillArrivingIsNotIdleAndTheFrameCapAnswersIt() throws Exception {
    // 1 MiB of empty ops at 512 KiB/s: two seconds in transit, five idle timeouts.
    int ops = 1 << 19;
    byte[] giant = new byte[ops * 2];
    for (int i = 0; i < ops; i++) {
      giant[2 * i] = 0x0a;
    }
    try (TestPool pool = pool(GatewayConfig.Limits.defaults().withIdleTimeout(Duration.ofMillis(400))
            .withMaxFrameOps(1000));
        SlowLink link = new SlowLink(pool.gateway.grpcPort(), 512 << 10);
        Raw s = new Raw(link.address())) {
      s.open(1 << 20);
      s.call.sendMessage(giant);
      Reply r = s.next();
      assertTrue(r.hasError(), () -> "expected the frame cap's answer, got " + r + "; stream "
          + s.closed.getNow(null));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), r.getError().getCode(), r::toString);
      assertTrue(r.getError().getDescription().contains("max-frame-ops 1000"), r.getError().getDescription());
      assertNull(s.closed.getNow(null), "the stream was closed while the frame arrived");
      // Silent from here on: the idle timeout still ends it.
      Status status = s.awaitClose();
      assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("idle-timeout"), status::getDescription);
    }
  }

  @Test
  void aClientThatReadsNoReplyIsCutOffAndItsSliceFreed() throws Exception {
    try (TestPool pool = pool(GatewayConfig.Limits.defaults().withReplyStallTimeout(Duration.ofMillis(500)));
        Raw s = new Raw(pool.gateway.address())) {
      s.open(64L << 20);
      s.reading.set(false);
      Op.Builder[] reads = new Op.Builder[17];
      reads[0] = Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(1).setBytes(16L << 20));
      for (int i = 1; i < reads.length; i++) {
        reads[i] = Op.newBuilder().setRead(Read.newBuilder().setHandle(1).setLength(16L << 20));
      }
      s.frame(reads);
      GpuNodeServer node = pool.nodes.get(0);
      Await.until("the gateway ended the stalled session", () -> pool.gateway.sessions().isEmpty());
      Await.until("the node released it", () -> node.node().sessions().isEmpty());
      // The status waits behind the unread replies: a client that reads at last finds it.
      s.reading.set(true);
      s.call.request(1);
      Status status = s.awaitClose();
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("reply-stall-timeout"), status::getDescription);
    }
  }

  @Test
  void aReplyFromUpstreamIsActivity() throws Exception {
    ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor();
    AtomicInteger sent = new AtomicInteger();
    int notices = 40;
    // A node that answers the open and then tells the session something every 50 ms for 2 s.
    Server fake = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new GpuSessionServiceGrpc.GpuSessionServiceImplBase() {
          @Override
          public StreamObserver<ClientFrame> session(StreamObserver<ServerFrame> out) {
            return new StreamObserver<>() {
              boolean opened;

              @Override
              public void onNext(ClientFrame f) {
                if (opened) {
                  return;
                }
                opened = true;
                out.onNext(ServerFrame.newBuilder().addReplies(Reply.newBuilder().setSeq(f.getOps(0).getSeq())
                    .setOpened(Opened.newBuilder().setSessionId("fake-1").setProtocolVersion(1))).build());
                ticks.scheduleAtFixedRate(() -> {
                  if (sent.get() < notices) {
                    synchronized (out) {
                      out.onNext(ServerFrame.newBuilder().addReplies(Reply.newBuilder().setSeq(0)
                          .setNotice(Notice.newBuilder().setMessage("tick " + sent.incrementAndGet()))).build());
                    }
                  }
                }, 50, 50, TimeUnit.MILLISECONDS);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            };
          }
        }).build().start();
    GatewayCore gateway = new GatewayCore(GatewayConfig.local("edge-r", "edge/r")
        .withHeartbeat(Duration.ofSeconds(30), Duration.ofMinutes(5))
        .withLimits(GatewayConfig.Limits.defaults().withIdleTimeout(Duration.ofMillis(600))),
        Clock.systemUTC(), GatewayListener.NONE).start();
    ManagedChannel registry = NettyChannelBuilder.forTarget(gateway.address()).usePlaintext().build();
    try (Raw s = new Raw(gateway.address())) {
      NodeRegistryServiceGrpc.newBlockingStub(registry).register(RegisterNodeRequest.newBuilder()
          .setNodeId("fake").setAddress("127.0.0.1:" + fake.getPort()).setPool("edge/r").setIncarnation("1")
          .addGpus(GpuCard.newBuilder().setIndex(0).setUuid("GPU-fake").setModel("V100")
              .setMemoryBytes(32 * GIB).setComputeCapability("7.0")).build());
      s.open(1 << 20);
      Status status = s.awaitClose();
      assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("idle-timeout"), status::getDescription);
      long ticksSeen = s.replies.stream().filter(Reply::hasNotice).count();
      assertEquals(notices, ticksSeen, "the session was ended as idle while its node still answered");
    } finally {
      ticks.shutdownNow();
      registry.shutdownNow();
      gateway.close();
      fake.shutdownNow();
    }
  }

  @Test
  void aFloodingTenantDoesNotCostAHealthyNodeItsHeartbeats() throws Exception {
    GatewayCore gateway = new GatewayCore(GatewayConfig.local("edge-f", "edge/f")
        // Heartbeats every 100 ms, down after 2 s without one: twenty missed in a row, so that a loaded CI
        // machine's scheduling gaps do not read as a lost node, while a loop held by the flood would.
        .withHeartbeat(Duration.ofMillis(100), Duration.ofSeconds(2)), Clock.systemUTC(), GatewayListener.NONE);
    List<String> downs = new CopyOnWriteArrayList<>();
    List<String> upThreads = new CopyOnWriteArrayList<>();
    gateway.registry().addListener(new NodeListener() {
      @Override
      public void onNodeUp(Node node) {
        upThreads.add(Thread.currentThread().getName());
      }

      @Override
      public void onNodeDown(Node node, String reason) {
        downs.add(node.id() + ": " + reason);
      }
    });
    try (TestPool pool = new TestPool(gateway)) {
      GpuNode node = new GpuNode(new NodeOptions("node-f", "edge/f", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
          NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 32 * GIB));
      GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
      pool.nodes.add(server);
      pool.registrars.add(new GatewayRegistrar(node, gateway.address(), "127.0.0.1:" + server.port(), 100)
          .start());
      Await.until("node-f registered", () -> gateway.registry().node("node-f").map(Node::isUp).orElse(false));
      assertTrue(upThreads.stream().allMatch(t -> t.startsWith("spillway-gateway-registration-")),
          () -> "registrations ran on " + upThreads);
      try (Raw s = new Raw(gateway.address())) {
        s.open(8 << 20);
        s.frame(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(1).setBytes(1 << 20)));
        ByteString eight = ByteString.copyFrom(new byte[8]);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        int frames = 0;
        while (System.nanoTime() < until) {
          Op.Builder[] writes = new Op.Builder[16 << 10];
          for (int i = 0; i < writes.length; i++) {
            writes[i] = Op.newBuilder().setWrite(Write.newBuilder().setHandle(1).setOffset(8L * (i % 1024))
                .setData(eight));
          }
          s.frame(writes);
          frames++;
          // Keep a few frames in flight, no more: the flood is sustained, not buffered in the client.
          while (!s.call.isReady() && System.nanoTime() < until) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
          }
        }
        assertTrue(frames > 1, "the flood sent " + frames + " frames");
        assertTrue(downs.isEmpty(), () -> "the node was taken down during the flood: " + downs);
        assertTrue(gateway.registry().node("node-f").map(Node::isUp).orElse(false));
        assertFalse(s.closed.isDone(), () -> "the flooding session ended: " + s.closed.getNow(null));
      }
    }
  }
  @Test
  void theEdgePlacesByTheNodesSessionCapOnEveryCard() throws Exception {
    try (TestPool pool = new TestPool(GatewayConfig.local("edge-c", "edge/c"))) {
      GpuNode node = new GpuNode(new NodeOptions("node-c", "edge/c", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
          NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000).withLimits(io.spillway.node.NodeLimits.defaults()
              .withMaxSessionsPerCard(2)), HostGpuDriver.withCards(2, "V100", 32 * GIB));
      GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
      pool.nodes.add(server);
      pool.registrars.add(new GatewayRegistrar(node, pool.gateway.address(), "127.0.0.1:" + server.port(), 200)
          .start());
      Await.until("node-c registered", () -> pool.gateway.registry().node("node-c").map(Node::isUp).orElse(false));
      List<Raw> open = new java.util.ArrayList<>();
      try {
        for (int i = 0; i < 4; i++) {
          Raw s = new Raw(pool.gateway.address());
          open.add(s);
          s.open(1);
        }
        assertEquals(4, node.sessions().size());
        Raw fifth = new Raw(pool.gateway.address());
        open.add(fifth);
        fifth.frame(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(1).setTenant("t")
            .setSlice(SliceRequest.newBuilder().setMemoryBytes(1))));
        Status status = fifth.awaitClose();
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status::toString);
        assertTrue(status.getDescription().contains("max-sessions-per-card"), status::getDescription);
      } finally {
        open.forEach(Raw::close);
      }
    }
  }

  @Test
  void aStreamPastMaxStreamsPerConnectionWaitsInTheClientUntilOneCloses() throws Exception {
    try (TestPool pool = pool(GatewayConfig.Limits.defaults().withMaxStreamsPerConnection(2))) {
      ManagedChannel one = NettyChannelBuilder.forTarget(pool.gateway.address()).usePlaintext().build();
      try (Raw a = new Raw(one, false); Raw b = new Raw(one, false)) {
        a.open(1 << 20);
        b.open(1 << 20);
        Raw third = new Raw(one, false);
        third.frame(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(1).setTenant("t")
            .setSlice(SliceRequest.newBuilder().setMemoryBytes(1 << 20))));
        // A session on another connection opens: the gateway is serving, yet the third stream of the
        // first connection has not reached it (HTTP/2 MAX_CONCURRENT_STREAMS: the client holds it).
        try (Raw other = new Raw(pool.gateway.address())) {
          other.open(1 << 20);
          assertEquals(3, pool.gateway.sessions().size());
          assertNull(third.replies.peek(), () -> "the third stream was served: " + third.replies.peek());
          assertNull(third.closed.getNow(null));
        }
        a.close();
        Reply opened = third.next();
        assertTrue(opened.hasOpened(), opened::toString);
        third.close();
      } finally {
        one.shutdownNow();
      }
    }
  }
}
