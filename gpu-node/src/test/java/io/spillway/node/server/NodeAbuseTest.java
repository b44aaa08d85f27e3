package io.spillway.node.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeLimits;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Reply;
import io.spillway.testkit.Await;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the abuse run found at the node, over real gRPC: a frame still arriving is not idleness (the frame
 * cap answers it), and a client that reads no reply loses its session and slice at the reply stall
 * timeout instead of holding them.
 */
class NodeAbuseTest {

  private static final long MIB = 1 << 20;

  private GpuNodeServer server;
  private ManagedChannel channel;

  private GpuNode start(UnaryOperator<NodeLimits> limits) throws Exception {
    return start(limits, HostGpuDriver.withCards(1, "V100", 512 * MIB));
  }

  private GpuNode start(UnaryOperator<NodeLimits> limits, HostGpuDriver driver) throws Exception {
    NodeOptions options = NodeOptions.defaults("node-x").withLimits(limits.apply(NodeLimits.defaults()));
    GpuNode node = new GpuNode(options, driver);
    server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    return node;
  }

  private ManagedChannel channel(String address) {
    channel = NettyChannelBuilder.forTarget(address).usePlaintext().maxInboundMessageSize(128 << 20).build();
    return channel;
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aFrameStillArrivingIsNotIdleAndTheFrameCapAnswersIt() throws Exception {
    start(l -> l.withIdleTimeout(Duration.ofMillis(400)).withMaxFrameOps(1000));
    // 1 MiB of empty ops at 512 KiB/s: two seconds in transit, five idle timeouts.
    int ops = 1 << 19;
    byte[] giant = new byte[ops * 2];
    for (int i = 0; i < ops; i++) {
      giant[2 * i] = 0x0a;
    }
    try (SlowLink link = new SlowLink(server.port(), 512 << 10);
        RawSession s = new RawSession(channel(link.address()))) {
      s.open("t", RawSession.slice(MIB, 0));
      s.sendRaw(giant);
      Reply r = s.expectError(Status.Code.RESOURCE_EXHAUSTED, "max-frame-ops 1000");
      assertFalse(s.isClosed(), "the stream was closed while the frame arrived");
      assertFalse(r.getError().getFatal(), r::toString);
      Status status = s.awaitClose();
      assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("idle-timeout"), status::getDescription);
    }
  }

  @Test
  void aClientThatReadsNoReplyLosesItsSessionAtTheReplyStallTimeout() throws Exception {
    GpuNode node = start(l -> l.withReplyStallTimeout(Duration.ofMillis(500)));
    try (RawSession s = new RawSession(channel("127.0.0.1:" + server.port()))) {
      s.open("t", RawSession.slice(64 * MIB, 0));
      s.stopReading();
      Op.Builder[] ops = new Op.Builder[17];
      ops[0] = Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(1).setBytes(16 * MIB));
      for (int i = 1; i < ops.length; i++) {
        ops[i] = Op.newBuilder().setRead(Read.newBuilder().setHandle(1).setLength(16 * MIB));
      }
      s.frame(ops);
      Await.until("the node ended the session that reads nothing", () -> node.sessions().isEmpty());
      // The status waits behind the unread replies: a client that reads at last finds it.
      s.readAgain();
      Status status = s.awaitClose();
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("reply-stall-timeout"), status::getDescription);
    }
  }

  @Test
  void eachContextsOwnMemoryIsChargedToItsSlice() throws Exception {
    GpuNode node = start(l -> l, HostGpuDriver.withCards(1, "V100", 512 * MIB).withContextBytes(MIB));
    try (RawSession s = new RawSession(channel("127.0.0.1:" + server.port()))) {
      s.open("t", RawSession.slice(4 * MIB, 0));
      s.frame(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(1).setBytes(4 * MIB)));
      s.expectError(Status.Code.RESOURCE_EXHAUSTED, MIB + " of " + 4 * MIB + " bytes in use");
      s.frame(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(2).setBytes(3 * MIB)),
          Op.newBuilder().setSynchronize(io.spillway.protocol.v1.Synchronize.getDefaultInstance()));
      Reply sync = s.next();
      assertTrue(sync.hasSynchronized(), sync::toString);
      assertEquals(1, sync.getSynchronized().getFailedOps(), "only the 4 MiB alloc failed");
    }
    try (RawSession small = new RawSession(channel)) {
      small.frame(Op.newBuilder().setOpen(io.spillway.protocol.v1.Open.newBuilder().setProtocolVersion(1)
          .setTenant("t").setSlice(RawSession.slice(MIB / 2, 0))));
      small.expectError(Status.Code.RESOURCE_EXHAUSTED, "cannot hold the session's context, which takes "
          + MIB + " bytes");
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, small.awaitClose().getCode());
    }
    Await.until("the refused open left nothing behind", () -> node.sessions().isEmpty());
  }
}
