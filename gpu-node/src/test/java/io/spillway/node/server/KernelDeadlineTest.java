package io.spillway.node.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeLimits;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Dim3;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Launch;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Write;
import io.spillway.testkit.Await;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A kernel that never ends, on the host driver: the launch deadline ends its session, and a client
 * that cancels does not wait behind it; either way the slice is freed and other sessions go on.
 */
class KernelDeadlineTest {

  private static final long MIB = 1 << 20;

  /** Loops for as long as its argument is not zero. */
  static final String SPIN = """
      .version 7.0
      .target sm_70
      .address_size 64

      .visible .entry spin(
        .param .u32 spin_param_0
      )
      {
        .reg .pred %p<2>;
        .reg .b32 %r<4>;
        ld.param.u32 %r1, [spin_param_0];
        mov.u32 %r2, 0;
      $L_loop:
        add.s32 %r2, %r2, 1;
        setp.ne.s32 %p1, %r1, 0;
        @%p1 bra $L_loop;
        ret;
      }
      """;

  private GpuNodeServer server;
  private ManagedChannel channel;

  private GpuNode start(Duration deadline) throws Exception {
    // An instruction budget far beyond the test's patience: only the deadline or a cancel can stop it.
    GpuNode node = new GpuNode(NodeOptions.defaults("node-k").withLimits(NodeLimits.defaults()
        .withLaunchDeadline(deadline)), HostGpuDriver.withCards(1, "V100", 64 * MIB, Long.MAX_VALUE));
    server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    return node;
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.close();
  }

  private static Op.Builder loadSpin() {
    return Op.newBuilder().setLoadModule(LoadModule.newBuilder().setModule(100).setName("spin")
        .setImage(ByteString.copyFrom(SPIN, StandardCharsets.US_ASCII)));
  }

  private static Op.Builder spin() {
    return Op.newBuilder().setLaunch(Launch.newBuilder().setModule(100).setFunction("spin")
        .setGrid(Dim3.newBuilder().setX(1)).setBlock(Dim3.newBuilder().setX(32))
        .addArgs(KernelArg.newBuilder().setI32(1)));
  }

  private static Op.Builder sync() {
    return Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance());
  }

  private static void assertAlive(RawSession s) throws InterruptedException {
    byte[] data = {4, 3, 2, 1};
    s.frame(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(1).setBytes(64)),
        Op.newBuilder().setWrite(Write.newBuilder().setHandle(1).setData(ByteString.copyFrom(data))),
        Op.newBuilder().setRead(Read.newBuilder().setHandle(1).setLength(4)));
    Reply r = s.next();
    assertTrue(r.hasReadData(), () -> "expected data, got " + r);
    assertArrayEquals(data, r.getReadData().getData().toByteArray());
  }

  @Test
  void aKernelPastItsDeadlineEndsItsSessionAndFreesTheSlice() throws Exception {
    GpuNode node = start(Duration.ofMillis(300));
    try (RawSession s = new RawSession(channel); RawSession other = new RawSession(channel)) {
      s.open("t", RawSession.slice(MIB, 50));
      other.open("u", RawSession.slice(MIB, 50));
      s.frame(loadSpin(), spin(), sync());
      Reply r = s.expectError(Status.Code.FAILED_PRECONDITION, "--launch-deadline");
      assertTrue(r.getError().getFatal(), r::toString);
      assertEquals(Status.Code.FAILED_PRECONDITION, s.awaitClose().getCode());
      Await.until("the slice of the session is freed", () -> node.sessions().size() == 1
          && node.slices().allocatedComputePercent(node.gpus().get(0)) == 50);
      assertAlive(other);
    }
  }

  @Test
  void aCancelDoesNotWaitBehindARunningKernel() throws Exception {
    GpuNode node = start(Duration.ZERO);
    try (RawSession other = new RawSession(channel)) {
      other.open("u", RawSession.slice(MIB, 0));
      RawSession s = new RawSession(channel);
      s.open("t", RawSession.slice(MIB, 0));
      s.frame(loadSpin(), spin(), sync());
      Await.until("the kernel is running", () -> node.sessions().stream()
          .anyMatch(x -> x.tenant().equals("t") && x.opsExecuted() >= 2));
      s.close(); // cancels the stream
      Await.until("the cancelled session's slice is freed", () -> node.sessions().size() == 1
          && node.slices().sessions(node.gpus().get(0)) == 1);
      assertAlive(other);
    }
  }
}
