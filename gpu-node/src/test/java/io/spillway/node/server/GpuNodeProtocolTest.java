package io.spillway.node.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Close;
import io.spillway.protocol.v1.Dim3;
import io.spillway.protocol.v1.DevicePointer;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Launch;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Write;
import io.spillway.testkit.Await;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The session protocol against a real node over gRPC on loopback: every kind of bad input gets its
 * status, and the session and the node keep working after it.
 */
class GpuNodeProtocolTest {

  private static final long MIB = 1 << 20;

  private GpuNodeServer server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    GpuNode node = new GpuNode(NodeOptions.defaults("node-t"),
        HostGpuDriver.withCards(2, "V100", 64 * MIB));
    server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.close();
  }

  private static Op.Builder alloc(long handle, long bytes) {
    return Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(handle).setBytes(bytes));
  }

  private static Op.Builder write(long handle, long offset, byte[] data) {
    return Op.newBuilder().setWrite(Write.newBuilder().setHandle(handle).setOffset(offset)
        .setData(ByteString.copyFrom(data)));
  }

  private static Op.Builder read(long handle, long offset, long length) {
    return Op.newBuilder().setRead(Read.newBuilder().setHandle(handle).setOffset(offset).setLength(length));
  }

  private static Op.Builder sync() {
    return Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance());
  }

  private static Op.Builder free(long handle) {
    return Op.newBuilder().setFree(Free.newBuilder().setHandle(handle));
  }

  private static Op.Builder loadKernels(long module) {
    return Op.newBuilder().setLoadModule(LoadModule.newBuilder().setModule(module)
        .setName(SpillwayKernels.MODULE_NAME).setImage(ByteString.copyFrom(SpillwayKernels.ptx())));
  }

  private static KernelArg ptr(long handle) {
    return KernelArg.newBuilder().setPtr(DevicePointer.newBuilder().setHandle(handle)).build();
  }

  private static Op.Builder launch(long module, String fn, int n, KernelArg... args) {
    return Op.newBuilder().setLaunch(Launch.newBuilder().setModule(module).setFunction(fn)
        .setGrid(Dim3.newBuilder().setX((n + 255) / 256)).setBlock(Dim3.newBuilder().setX(256))
        .addAllArgs(Arrays.asList(args)));
  }

  private static byte[] floats(float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return b.array();
  }

  private static float[] toFloats(ByteString bytes) {
    ByteBuffer b = bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[bytes.size() / 4];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.getFloat();
    }
    return out;
  }

  /** Checks that the session still works: a write and a read of it round-trip. */
  private static void assertAlive(RawSession s, long handle) throws InterruptedException {
    byte[] data = {1, 2, 3, 4};
    s.frame(write(handle, 0, data), read(handle, 0, 4));
    Reply r = s.next();
    assertTrue(r.hasReadData(), () -> "expected data, got " + r);
    assertArrayEquals(data, r.getReadData().getData().toByteArray());
  }

  @Test
  void openDescribesTheSlice() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      Opened o = s.open("acme", RawSession.slice(16 * MIB, 25));
      assertEquals(1, o.getDevicesCount());
      assertEquals("V100", o.getDevices(0).getModel());
      assertEquals(16 * MIB, o.getDevices(0).getMemoryLimitBytes());
      assertEquals(25, o.getDevices(0).getComputePercent());
      assertEquals("host", o.getDevices(0).getDriver());
      assertTrue(o.getChunkBytes() > 0);
    }
  }

  @Test
  void vectorAddComputesOnTheNode() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("acme", RawSession.slice(MIB, 0));
      int n = 1000;
      float[] a = new float[n];
      float[] b = new float[n];
      for (int i = 0; i < n; i++) {
        a[i] = i;
        b[i] = 2 * i + 0.5f;
      }
      s.frame(alloc(1, 4L * n), alloc(2, 4L * n), alloc(3, 4L * n), write(1, 0, floats(a)),
          write(2, 0, floats(b)), loadKernels(10),
          launch(10, SpillwayKernels.VECTOR_ADD, n, ptr(1), ptr(2), ptr(3),
              KernelArg.newBuilder().setI32(n).build()),
          read(3, 0, 4L * n));
      Reply r = s.next();
      assertTrue(r.hasReadData(), () -> "got " + r);
      float[] c = toFloats(r.getReadData().getData());
      for (int i = 0; i < n; i++) {
        assertEquals(3 * i + 0.5f, c[i], 1e-4, "c[" + i + "]");
      }
    }
  }

  @Test
  void unknownHandleIsNotFoundAndTheSessionGoesOn() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("acme", RawSession.slice(MIB, 0));
      s.frame(alloc(1, 64), write(99, 0, new byte[4]), sync());
      Reply err = s.expectError(Status.Code.NOT_FOUND, "unknown handle 99");
      assertEquals(3, err.getSeq());
      assertEquals("write", err.getError().getOp());
      assertTrue(err.getError().getDescription().contains("seq 3"));
      Reply done = s.next();
      assertTrue(done.hasSynchronized());
      assertEquals(1, done.getSynchronized().getFailedOps());
      assertAlive(s, 1);
    }
  }

  @Test
  void copyPastTheEndIsRefusedWithTheRange() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("acme", RawSession.slice(MIB, 0));
      s.frame(alloc(7, 8192), write(7, 8192 - 2, new byte[4096]));
      s.expectError(Status.Code.INVALID_ARGUMENT, "4096 bytes at offset 8190 overrun handle 7 (size 8192)");
      s.frame(read(7, Long.MAX_VALUE, 16));
      s.expectError(Status.Code.INVALID_ARGUMENT, "overrun handle 7");
      // An offset with the top bit set (huge unsigned) must not wrap around into the buffer.
      s.frame(read(7, -8, 16));
      s.expectError(Status.Code.INVALID_ARGUMENT, "overrun handle 7");
      assertAlive(s, 7);
    }
  }

  @Test
  void doubleFreeSaysWhenItWasFreed() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("acme", RawSession.slice(MIB, 0));
      s.frame(alloc(1, 64), alloc(2, 64), free(2), free(2));
      s.expectError(Status.Code.NOT_FOUND, "unknown handle 2 (it was freed at seq 4)");
      assertAlive(s, 1);
    }
  }

  @Test
  void allocationOverQuotaNamesQuotaAndRequest() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("acme", RawSession.slice(4 * MIB, 0));
      s.frame(alloc(1, 3 * MIB), alloc(2, 2 * MIB));
      s.expectError(Status.Code.RESOURCE_EXHAUSTED,
          "alloc (seq 3) of 2097152 bytes for handle 2 exceeds the session's memory quota on device 0: "
              + "3145728 of 4194304 bytes in use");
      s.frame(alloc(3, MIB));
      assertAlive(s, 3);
    }
  }

  @Test
  void malformedFrameIsAnsweredAndTheSessionGoesOn() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("acme", RawSession.slice(MIB, 0));
      s.frame(alloc(1, 64));
      // Field 1 (ops), wire type 2, with a length running past the end of the frame.
      s.sendRaw(new byte[] {0x0a, 0x7f, 0x01, 0x02});
      Reply r = s.expectError(Status.Code.INVALID_ARGUMENT, "malformed frame of 4 bytes");
      assertEquals(0, r.getSeq());
      assertAlive(s, 1);
    }
  }

  @Test
  void opWithNothingSetAndSequenceGoingBackAreRefused() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("acme", RawSession.slice(MIB, 0));
      s.frame(Op.newBuilder());
      s.expectError(Status.Code.INVALID_ARGUMENT, "op (seq 2) has no operation set");
      s.sendRaw(io.spillway.protocol.v1.ClientFrame.newBuilder()
          .addOps(alloc(1, 64).setSeq(1)).build().toByteArray());
      s.expectError(Status.Code.INVALID_ARGUMENT, "sequence numbers must increase; the previous op had seq 2");
      s.frame(alloc(1, 64));
      assertAlive(s, 1);
    }
  }

  @Test
  void unknownKernelAndWrongArgumentsAreRefused() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("acme", RawSession.slice(MIB, 0));
      s.frame(alloc(1, 64), alloc(2, 64), alloc(3, 64), loadKernels(10),
          launch(10, "no_such_kernel", 16, ptr(1)));
      s.expectError(Status.Code.NOT_FOUND, "has no kernel 'no_such_kernel'");
      s.frame(launch(10, SpillwayKernels.VECTOR_ADD, 16, ptr(1), ptr(2), ptr(3)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "3 arguments given; the kernel declares 4");
      s.frame(launch(10, SpillwayKernels.VECTOR_ADD, 16, ptr(1), ptr(2), ptr(3),
          KernelArg.newBuilder().setF32(16f).build()));
      s.expectError(Status.Code.INVALID_ARGUMENT, "argument 3 is f32; the kernel declares b32");
      s.frame(launch(11, SpillwayKernels.VECTOR_ADD, 16));
      s.expectError(Status.Code.NOT_FOUND, "unknown module handle 11");
      s.frame(launch(10, SpillwayKernels.VECTOR_ADD, 16, ptr(1), ptr(2), ptr(42),
          KernelArg.newBuilder().setI32(16).build()));
      s.expectError(Status.Code.NOT_FOUND, "argument 2 names unknown handle 42");
      s.frame(Op.newBuilder().setLoadModule(LoadModule.newBuilder().setModule(12)
          .setImage(ByteString.copyFromUtf8("this is not ptx"))));
      s.expectError(Status.Code.INVALID_ARGUMENT, "load_module (seq");
      assertAlive(s, 1);
    }
  }

  @Test
  void twoTenantsOnOneGpuCannotReachEachOther() throws Exception {
    try (RawSession a = new RawSession(channel); RawSession b = new RawSession(channel)) {
      SliceRequest onFirstCard = SliceRequest.newBuilder().setMemoryBytes(MIB)
          .addGpuUuids(server.node().gpus().get(0).uuid()).build();
      Opened oa = a.open("tenant-a", onFirstCard);
      Opened ob = b.open("tenant-b", onFirstCard);
      assertEquals(oa.getDevices(0).getGpuUuid(), ob.getDevices(0).getGpuUuid());
      byte[] secret = "tenant-a secret weights".getBytes();
      a.frame(alloc(1, 4096), write(1, 0, secret), sync());
      assertTrue(a.next().hasSynchronized());
      // B's handle 1 is not A's: B has none until it allocates one.
      b.frame(read(1, 0, secret.length));
      b.expectError(Status.Code.NOT_FOUND, "unknown handle 1");
      b.frame(alloc(1, 4096), read(1, 0, 4096));
      Reply r = b.next();
      assertTrue(r.hasReadData());
      assertFalse(new String(r.getReadData().getData().toByteArray()).contains("secret"));
      // And A's data is intact.
      a.frame(read(1, 0, secret.length));
      assertArrayEquals(secret, a.next().getReadData().getData().toByteArray());
    }
  }

  @Test
  void openOverCapacityIsResourceExhaustedAndSaysWhatIsFree() throws Exception {
    try (RawSession a = new RawSession(channel); RawSession b = new RawSession(channel);
        RawSession c = new RawSession(channel)) {
      a.open("t", RawSession.slice(40 * MIB, 0));
      b.open("t", RawSession.slice(40 * MIB, 0));
      Reply r = c.send(Op.newBuilder().setOpen(io.spillway.protocol.v1.Open.newBuilder()
          .setProtocolVersion(1).setTenant("t").setSlice(RawSession.slice(40 * MIB, 0))));
      assertTrue(r.hasError());
      assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), r.getError().getCode());
      assertTrue(r.getError().getDescription().contains("free"), r.getError().getDescription());
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, c.awaitClose().getCode());
    }
  }

  @Test
  void secondOpenInASessionIsRefused() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("t", RawSession.slice(MIB, 0));
      s.frame(Op.newBuilder().setOpen(io.spillway.protocol.v1.Open.newBuilder().setProtocolVersion(1)
          .setTenant("t").setSlice(RawSession.slice(MIB, 0))));
      s.expectError(Status.Code.INVALID_ARGUMENT, "is already open");
      s.frame(alloc(1, 64));
      assertAlive(s, 1);
    }
  }

  @Test
  void closeOrCancelReturnsTheSlice() throws Exception {
    GpuNode node = server.node();
    for (int round = 0; round < 3; round++) {
      // The whole card each time: a slice not returned would make the next open fail.
      RawSession s = new RawSession(channel);
      s.open("t", SliceRequest.newBuilder().setMemoryBytes(64 * MIB)
          .addGpuUuids(node.gpus().get(0).uuid()).build());
      if (round % 2 == 0) {
        s.frame(Op.newBuilder().setClose(Close.getDefaultInstance()));
        assertTrue(s.next().hasClosed());
        assertEquals(Status.Code.OK, s.awaitClose().getCode());
      } else {
        s.close(); // the client vanishes: the node must clean up on cancellation
      }
      Await.until("the node released the session of round " + round, () -> node.sessions().isEmpty());
      assertEquals(0, node.sessions().size(), "sessions left after round " + round);
      assertEquals(0, node.slices().allocatedBytes(node.gpus().get(0)));
    }
  }
}
