package io.spillway.node.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeLimits;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Write;
import io.spillway.testkit.Await;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every per-frame, per-session and per-card limit of a node, over real gRPC: each is refused with a
 * status that names it and its value, and the session (or the other sessions) go on.
 */
class NodeLimitsTest {

  private static final long MIB = 1 << 20;

  private GpuNodeServer server;
  private ManagedChannel channel;

  private GpuNode start(UnaryOperator<NodeLimits> limits) throws Exception {
    NodeOptions options = NodeOptions.defaults("node-l").withLimits(limits.apply(NodeLimits.defaults()));
    GpuNode node = new GpuNode(options, HostGpuDriver.withCards(1, "V100", 64 * MIB));
    server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    return node;
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

  private static Op.Builder alloc(long handle, long bytes) {
    return Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(handle).setBytes(bytes));
  }

  private static Op.Builder sync() {
    return Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance());
  }

  private static void assertAlive(RawSession s, long handle) throws InterruptedException {
    byte[] data = {9, 8, 7, 6};
    s.frame(Op.newBuilder().setWrite(Write.newBuilder().setHandle(handle).setData(ByteString.copyFrom(data))),
        Op.newBuilder().setRead(Read.newBuilder().setHandle(handle).setLength(4)));
    Reply r = s.next();
    assertTrue(r.hasReadData(), () -> "expected data, got " + r);
    assertArrayEquals(data, r.getReadData().getData().toByteArray());
  }

  @Test
  void aFrameOfMillionsOfEmptyOpsIsRefusedUnparsedAndTheSessionGoesOn() throws Exception {
    start(l -> l);
    try (RawSession s = new RawSession(channel); RawSession other = new RawSession(channel)) {
      s.open("t", RawSession.slice(MIB, 0));
      other.open("u", RawSession.slice(MIB, 0));
      other.frame(alloc(1, 64));
      s.frame(alloc(1, 64));
      // Two million empty ops (two bytes each): parsed, they would take a few hundred MiB.
      ByteArrayOutputStream frame = new ByteArrayOutputStream();
      for (int i = 0; i < 2_000_000; i++) {
        frame.write(0x0a);
        frame.write(0);
      }
      s.sendRaw(frame.toByteArray());
      s.expectError(Status.Code.RESOURCE_EXHAUSTED, "--max-frame-ops " + NodeLimits.DEFAULT_MAX_FRAME_OPS);
      assertAlive(s, 1);
      assertAlive(other, 1);
    }
  }

  @Test
  void aFrameOverTheOpLimitRunsNoneOfItsOps() throws Exception {
    start(l -> l.withMaxFrameOps(8));
    try (RawSession s = new RawSession(channel)) {
      s.open("t", RawSession.slice(MIB, 0));
      Op.Builder[] ops = new Op.Builder[9];
      for (int i = 0; i < ops.length; i++) {
        ops[i] = alloc(10 + i, 64);
      }
      s.frame(ops);
      Reply r = s.expectError(Status.Code.RESOURCE_EXHAUSTED, "more than 8 ops");
      assertEquals("frame", r.getError().getOp());
      // None of the nine allocations happened: handle 10 is free to take.
      s.frame(alloc(10, 64));
      assertAlive(s, 10);
      Op.Builder[] eight = new Op.Builder[8];
      for (int i = 0; i < eight.length; i++) {
        eight[i] = alloc(20 + i, 64);
      }
      s.frame(eight);
      s.frame(sync());
      assertTrue(s.next().hasSynchronized());
    }
  }

  @Test
  void errorsOfALongFrameAreSentAsTheyAccumulate() throws Exception {
    start(l -> l.withReplyFrameBytes(4096));
    try (RawSession s = new RawSession(channel)) {
      s.open("t", RawSession.slice(MIB, 0));
      int framesBefore = s.serverFrames();
      Op.Builder[] ops = new Op.Builder[2000];
      for (int i = 0; i < ops.length; i++) {
        ops[i] = Op.newBuilder().setFree(Free.newBuilder().setHandle(1000 + i)); // unknown handles
      }
      s.frame(ops);
      for (int i = 0; i < ops.length; i++) {
        s.expectError(Status.Code.NOT_FOUND, "unknown handle " + (1000 + i));
      }
      // About 60 bytes an error: 2000 of them are well over 4 KiB, so they came in many frames.
      int frames = s.serverFrames() - framesBefore;
      assertTrue(frames >= 20, "2000 errors came in " + frames + " server frames");
    }
  }

  @Test
  void handlesPerSessionAreCapped() throws Exception {
    start(l -> l.withMaxHandles(3));
    try (RawSession s = new RawSession(channel)) {
      s.open("t", RawSession.slice(MIB, 0));
      s.frame(alloc(1, 64), alloc(2, 64), alloc(3, 64), alloc(4, 64));
      s.expectError(Status.Code.RESOURCE_EXHAUSTED, "--max-handles 3");
      s.frame(Op.newBuilder().setFree(Free.newBuilder().setHandle(2)), alloc(4, 64));
      assertAlive(s, 4);
    }
  }

  @Test
  void modulesPerSessionAndModuleSizeAreCapped() throws Exception {
    byte[] ptx = SpillwayKernels.ptx();
    start(l -> l.withMaxModules(1).withMaxModuleBytes(ptx.length));
    try (RawSession s = new RawSession(channel)) {
      s.open("t", RawSession.slice(MIB, 0));
      s.frame(load(1, ptx), load(2, ptx));
      s.expectError(Status.Code.RESOURCE_EXHAUSTED, "--max-modules 1");
      byte[] bigger = java.util.Arrays.copyOf(ptx, ptx.length + 1);
      s.frame(Op.newBuilder().setFree(Free.newBuilder().setHandle(1)), load(3, bigger));
      s.expectError(Status.Code.RESOURCE_EXHAUSTED, "--max-module-bytes");
      s.frame(load(3, ptx), sync());
      assertTrue(s.next().hasSynchronized());
    }
  }

  private static Op.Builder load(long module, byte[] image) {
    return Op.newBuilder().setLoadModule(LoadModule.newBuilder().setModule(module)
        .setName(SpillwayKernels.MODULE_NAME).setImage(ByteString.copyFrom(image)));
  }

  @Test
  void sessionsPerCardAreCappedHoweverSmallTheSlice() throws Exception {
    GpuNode node = start(l -> l.withMaxSessionsPerCard(2));
    try (RawSession a = new RawSession(channel); RawSession b = new RawSession(channel)) {
      a.open("t", RawSession.slice(1, 0));
      b.open("t", RawSession.slice(1, 0));
      RawSession c = new RawSession(channel);
      Reply r = c.send(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(1).setTenant("t")
          .setSlice(RawSession.slice(1, 0))));
      assertTrue(r.hasError(), r::toString);
      assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), r.getError().getCode());
      assertTrue(r.getError().getDescription().contains("--max-sessions-per-card 2"),
          r.getError().getDescription());
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, c.awaitClose().getCode());
      a.close();
      Await.until("the node released the first session", () -> node.sessions().size() == 1);
      try (RawSession d = new RawSession(channel)) {
        d.open("t", RawSession.slice(1, 0));
        assertEquals(2, node.slices().sessions(node.gpus().get(0)));
      }
    }
  }

  @Test
  void aStreamThatNeverOpensIsEndedAtTheFirstFrameDeadline() throws Exception {
    GpuNode node = start(l -> l.withFirstFrameTimeout(Duration.ofMillis(200)));
    try (RawSession silent = new RawSession(channel); RawSession s = new RawSession(channel)) {
      s.open("t", RawSession.slice(MIB, 0));
      Status status = silent.awaitClose();
      assertEquals(Status.Code.DEADLINE_EXCEEDED, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("--first-frame-timeout"), status::getDescription);
      // The session that did open is past its first frame and untouched.
      s.frame(alloc(1, 64));
      assertAlive(s, 1);
      assertEquals(1, node.sessions().size());
    }
  }

  @Test
  void anIdleSessionIsEndedAndItsSliceFreed() throws Exception {
    GpuNode node = start(l -> l.withIdleTimeout(Duration.ofMillis(300)));
    try (RawSession s = new RawSession(channel)) {
      s.open("t", RawSession.slice(MIB, 0));
      Status status = s.awaitClose();
      assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("--idle-timeout"), status::getDescription);
      Await.until("the idle session's slice is freed", () -> node.sessions().isEmpty()
          && node.slices().allocatedBytes(node.gpus().get(0)) == 0);
    }
  }

  @Test
  void streamsPerConnectionAreCapped() throws Exception {
    start(l -> l.withMaxStreamsPerConnection(2));
    try (RawSession a = new RawSession(channel); RawSession b = new RawSession(channel)) {
      a.open("t", RawSession.slice(MIB, 0));
      b.open("t", RawSession.slice(MIB, 0));
      RawSession c = new RawSession(channel);
      c.frame(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(1).setTenant("t")
          .setSlice(RawSession.slice(MIB, 0))));
      // A round trip on an open stream: had the third stream been let in, its open would be answered by now.
      a.frame(sync());
      assertTrue(a.next().hasSynchronized());
      assertNull(c.poll(), "a third stream on the connection was served");
      c.close();
      // The cap is per connection: another connection is served.
      ManagedChannel second = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try (RawSession d = new RawSession(second)) {
        d.open("t", RawSession.slice(MIB, 0));
      } finally {
        second.shutdownNow();
      }
    }
  }
}
