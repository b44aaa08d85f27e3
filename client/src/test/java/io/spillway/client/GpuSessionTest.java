package io.spillway.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Placement;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GpuSessionTest {

  private static final SliceRequest SLICE = SliceRequest.builder()
      .tenant("search").gpuCount(2).memoryBytes(64L << 20).computePercent(50)
      .models("V100", "P40").placement(SliceRequest.Placement.BINPACK).clientName("test/pod-1").build();

  private final FakeGpuService fake = new FakeGpuService();
  private Server server;
  private ManagedChannel channel;
  private SpillwayClient client;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    // Direct executors on both ends: a frame reaches the fake before the client's send returns, so
    // the tests can count frames without waiting.
    server = InProcessServerBuilder.forName(name).directExecutor().addService(fake).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    client = SpillwayClient.forChannel(channel, SpillwayClient.Options.defaults()
        .withReplyTimeout(Duration.ofSeconds(20)).withOpenTimeout(Duration.ofSeconds(10))
        .withCloseTimeout(Duration.ofSeconds(10)));
  }

  @AfterEach
  void stop() throws Exception {
    client.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void opensWithTheSliceAndBatchesLaunchesIntoOneFrameWithIncreasingSeqs() {
    try (GpuSession gpu = client.open(SLICE)) {
      assertEquals("s-1", gpu.sessionId());
      assertEquals(2, gpu.devices().size());
      assertEquals("node-a", gpu.devices().get(1).node());

      DeviceBuffer x = gpu.alloc(4096);
      Module m = gpu.loadModule("// ptx".getBytes(StandardCharsets.UTF_8), "k.ptx");
      for (int i = 0; i < 100; i++) {
        gpu.launch(m, "scale", Dim3.of(4), Dim3.of(256), KernelArg.ptr(x), KernelArg.i32(i),
            KernelArg.f32(0.5f));
      }
      assertEquals(1, fake.frames.size(), "pipelined ops must not be sent before a synchronizing call");
      gpu.synchronize();

      assertEquals(2, fake.frames.size(), "open, then one frame for 102 ops and the synchronize");
      ClientFrame first = fake.frames.get(0);
      assertEquals(1, first.getOpsCount());
      Op open = first.getOps(0);
      assertEquals(1, open.getSeq());
      assertEquals(2, open.getOpen().getProtocolVersion());
      assertEquals("search", open.getOpen().getTenant());
      assertEquals(2, open.getOpen().getSlice().getGpuCount());
      assertEquals(64L << 20, open.getOpen().getSlice().getMemoryBytes());
      assertEquals(List.of("V100", "P40"), open.getOpen().getSlice().getModelsList());
      assertEquals(Placement.PLACEMENT_BINPACK, open.getOpen().getSlice().getPlacement());
      assertEquals("test/pod-1", open.getOpen().getClientName());

      ClientFrame batch = fake.frames.get(1);
      assertEquals(103, batch.getOpsCount());
      assertEquals(Op.KindCase.SYNCHRONIZE, batch.getOps(102).getKindCase());
      Op launch = batch.getOps(2);
      assertEquals(x.handle(), launch.getLaunch().getArgs(0).getPtr().getHandle());
      assertEquals(m.handle(), launch.getLaunch().getModule());
      assertEquals(0.5f, launch.getLaunch().getArgs(2).getF32());
    }
    List<Op> ops = fake.ops();
    for (int i = 0; i < ops.size(); i++) {
      assertEquals(i + 1, ops.get(i).getSeq(), "seq of op " + i);
    }
    assertEquals(Op.KindCase.CLOSE, ops.get(ops.size() - 1).getKindCase());
  }

  @Test
  void aFullBatchIsSentWithoutWaitingForASynchronizingCall() {
    try (GpuSession gpu = client.open(SLICE)) {
      Module m = gpu.loadModule(new byte[] {1}, "k");
      for (int i = 0; i < 300; i++) {
        gpu.launch(m, "step", Dim3.of(1), Dim3.of(32));
      }
      assertEquals(2, fake.frames.size());
      assertEquals(256, fake.frames.get(1).getOpsCount());
      gpu.flush();
      assertEquals(3, fake.frames.size());
      assertEquals(301 - 256, fake.frames.get(2).getOpsCount());
    }
  }

  @Test
  void pipelinedErrorsSurfaceAtTheNextSynchronizeAndTheSessionGoesOn() {
    try (GpuSession gpu = client.open(SLICE)) {
      Module m = gpu.loadModule(new byte[] {1}, "k");
      gpu.launch(m, "ok", Dim3.of(1), Dim3.of(1));
      gpu.launch(m, "fail", Dim3.of(1), Dim3.of(1));
      gpu.launch(m, "ok", Dim3.of(1), Dim3.of(1));
      gpu.launch(m, "fail", Dim3.of(1), Dim3.of(1));

      SpillwayException e = assertThrows(SpillwayException.class, gpu::synchronize);
      assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
      assertEquals(4, e.seq(), "open=1, load=2, ok=3, fail=4");
      assertEquals("launch", e.op());
      assertEquals(1, e.getSuppressed().length);
      assertEquals(6, ((SpillwayException) e.getSuppressed()[0]).seq());

      DeviceBuffer b = gpu.alloc(8);
      gpu.write(b, 0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
      assertArrayEquals(new byte[] {3, 4, 5}, gpu.read(b, 2, 3));
      gpu.synchronize();
    }
  }

  @Test
  void anErrorOfTheSynchronizingOpItselfThrows() {
    try (GpuSession gpu = client.open(SLICE)) {
      DeviceBuffer b = gpu.alloc(16);
      gpu.free(b);
      SpillwayException e = assertThrows(SpillwayException.class, () -> gpu.read(b, 0, 16));
      assertEquals(Status.Code.NOT_FOUND, e.code(), "a freed handle is unknown, as at every hop");
      assertEquals("read", e.op());
      assertEquals(4, e.seq());
      gpu.synchronize();
    }
  }

  @Test
  void closeSurfacesErrorsNotYetReported() {
    GpuSession gpu = client.open(SLICE);
    DeviceBuffer b = gpu.alloc(16);
    gpu.free(b);
    gpu.free(b);
    SpillwayException e = assertThrows(SpillwayException.class, gpu::close);
    assertEquals("free", e.op());
    assertEquals(4, e.seq());
    gpu.close(); // idempotent: nothing more to report
    assertThrows(IllegalStateException.class, () -> gpu.alloc(16));
  }

  @Test
  void bulkWritesAreChunkedAtTheAdvisedSizeAndReadBackIdentical() {
    fake.chunkBytes = 1_000_000;
    byte[] data = new byte[5 << 20];
    new Random(42).nextBytes(data);
    try (GpuSession gpu = client.open(SLICE)) {
      DeviceBuffer b = gpu.alloc(data.length + 4096);
      gpu.write(b, 4096, data);
      data[0] ^= 1; // the SDK copied the data: changing it now must not change what was sent
      byte[] back = gpu.read(b, 4096, data.length);
      data[0] ^= 1;
      assertArrayEquals(data, back);

      List<Op> writes = fake.ops().stream().filter(Op::hasWrite).toList();
      assertEquals(6, writes.size(), "5 MiB in chunks of 1,000,000 bytes");
      long expectedOffset = 4096;
      for (Op w : writes) {
        assertTrue(w.getWrite().getData().size() <= 1_000_000);
        assertEquals(expectedOffset, w.getWrite().getOffset());
        expectedOffset += w.getWrite().getData().size();
      }
      assertEquals(4096 + data.length, expectedOffset);
    }
  }

  @Test
  void floatsRoundTripAndFillSetsBytes() {
    try (GpuSession gpu = client.open(SLICE)) {
      float[] values = {1.5f, -2f, 3.25f, Float.MAX_VALUE};
      DeviceBuffer b = gpu.allocPersistent(4 * values.length, 1);
      assertTrue(b.persistent());
      assertEquals(1, b.device());
      gpu.upload(b, values);
      assertArrayEquals(values, gpu.downloadFloats(b, values.length));

      gpu.fill(b, 4, 8, 0xAB);
      byte[] bytes = gpu.read(b, 0, 16);
      for (int i = 4; i < 12; i++) {
        assertEquals((byte) 0xAB, bytes[i]);
      }
      assertEquals(1.5f, gpu.downloadFloats(b, 1)[0]);
    }
  }

  @Test
  void argumentsAreCheckedBeforeAnythingIsSent() {
    try (GpuSession gpu = client.open(SLICE)) {
      DeviceBuffer b = gpu.alloc(16);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> gpu.write(b, 8, new byte[9]));
      assertTrue(e.getMessage().contains("overruns handle " + b.handle()), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> gpu.alloc(16, 2));
      assertThrows(IllegalArgumentException.class, () -> gpu.fill(b, 0, 1, 256));
      assertThrows(IllegalArgumentException.class, () -> gpu.read(b, 0, 0));
      Module m = gpu.loadModule(new byte[] {1}, "k");
      assertThrows(IllegalArgumentException.class, () -> gpu.launch(m, "k", Dim3.of(1), Dim3.of(32, 64, 1)));
      gpu.synchronize();
      assertEquals(4, fake.ops().size(), "open, alloc, load_module, synchronize");
    }
  }

  @Test
  void openRefusedByTheServerThrowsItsCode() {
    fake.openError = Status.Code.RESOURCE_EXHAUSTED;
    SpillwayException e = assertThrows(SpillwayException.class, () -> client.open(SLICE));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
    assertEquals(1, e.seq());
    assertEquals("open", e.op());
    assertTrue(e.getMessage().contains("no slice fits"), e.getMessage());
  }

  @Test
  void aBrokenStreamFailsEveryLaterCallWithItsStatus() {
    GpuSession gpu = client.open(SLICE);
    DeviceBuffer b = gpu.alloc(16);
    gpu.synchronize();
    fake.breakStream(Status.UNAVAILABLE.withDescription("node lost"));

    SpillwayException e = assertThrows(SpillwayException.class, gpu::synchronize);
    assertEquals(Status.Code.UNAVAILABLE, e.code());
    assertTrue(e.getMessage().contains("node lost"), e.getMessage());
    SpillwayException again = assertThrows(SpillwayException.class, () -> gpu.write(b, 0, new byte[4]));
    assertEquals(Status.Code.UNAVAILABLE, again.code());
    gpu.close(); // the failure was reported already
  }

  @Test
  void closeReportsAFailureNoCallHasReported() throws Exception {
    GpuSession gpu = client.open(SLICE);
    gpu.alloc(16);
    fake.breakStream(Status.UNAVAILABLE.withDescription("node lost"));
    SpillwayException e = assertThrows(SpillwayException.class, gpu::close);
    assertEquals(Status.Code.UNAVAILABLE, e.code());
  }

  @Test
  void aFatalErrorEndsTheSession() {
    GpuSession gpu = client.open(SLICE);
    Module m = gpu.loadModule(new byte[] {1}, "k");
    gpu.launch(m, "fatal", Dim3.of(1), Dim3.of(1));
    SpillwayException e = assertThrows(SpillwayException.class, gpu::synchronize);
    assertEquals(Status.Code.FAILED_PRECONDITION, e.code());
    assertEquals(3, e.seq());
    SpillwayException after = assertThrows(SpillwayException.class, () -> gpu.alloc(4));
    assertEquals(Status.Code.FAILED_PRECONDITION, after.code());
    gpu.close();
  }

  @Test
  void aNoticeReplacesTheDevices() {
    try (GpuSession gpu = client.open(SLICE)) {
      fake.sendNotice("moved to center", List.of(FakeGpuService.device(0, "center-node")));
      gpu.synchronize(); // the notice precedes the answer on the stream
      assertEquals(1, gpu.devices().size());
      assertEquals("center-node", gpu.devices().get(0).node());
    }
  }

  @Test
  void aNoticeReachesTheClientsListenerWithTheNewDevices() {
    List<SessionNotice> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    client.onNotice(seen::add);
    try (GpuSession gpu = client.open(SLICE)) {
      fake.sendNotice("moved to center", List.of(FakeGpuService.device(0, "center-node")));
      fake.sendNotice("lease renewed", List.of());
      gpu.synchronize();
      assertEquals(2, seen.size(), String.valueOf(seen));
      assertEquals(gpu.sessionId(), seen.get(0).sessionId());
      assertEquals("moved to center", seen.get(0).message());
      assertEquals("center-node", seen.get(0).devices().get(0).node());
      assertTrue(seen.get(1).devices().isEmpty());
    }
  }

  @Test
  void aListenerThatThrowsDoesNotBreakTheSession() {
    client.onNotice(n -> {
      throw new IllegalStateException("listener bug");
    });
    try (GpuSession gpu = client.open(SLICE)) {
      fake.sendNotice("moved to center", List.of(FakeGpuService.device(0, "center-node")));
      gpu.synchronize();
      assertEquals("center-node", gpu.devices().get(0).node());
    }
  }

  @Test
  void aServerThatStopsReadingStopsTheClient() throws Exception {
    fake.autoRequest = false;
    fake.chunkBytes = 256 << 10;
    GpuSession gpu = client.open(SLICE);
    byte[] data = new byte[1 << 20];
    new Random(7).nextBytes(data);
    DeviceBuffer b = gpu.alloc(data.length);
    Thread[] writer = new Thread[1];
    CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
      writer[0] = Thread.currentThread();
      gpu.write(b, 0, data); // 4 chunks in 4 frames of 256 KiB
    });
    // The server read only the Open frame, so the writer must block on flow control.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while ((writer[0] == null || writer[0].getState() != Thread.State.TIMED_WAITING)
        && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertFalse(written.isDone());
    assertEquals(1, fake.frames.size());

    fake.requestFrames(100);
    written.get(10, TimeUnit.SECONDS);
    assertArrayEquals(data, gpu.read(b, 0, data.length));
    gpu.close();
  }

  @Test
  void copyMemsetAndRawLaunchesArePipelinedAndSayWhatTheyTouch() {
    try (GpuSession gpu = client.open(SLICE)) {
      DeviceBuffer a = gpu.alloc(64);
      DeviceBuffer b = gpu.alloc(64);
      Module m = gpu.loadModule(new byte[] {1}, "k");
      gpu.write(a, 0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
      gpu.copy(b, 8, a, 2, 4);
      gpu.memset(b, 16, 2, 0xBEEF, 3);
      byte[] params = new byte[16];
      params[8] = 42;
      gpu.launchRaw(m, "k", Dim3.of(1), Dim3.of(32), 0, params,
          List.of(new PointerSlot(0, b, 8, KernelArg.Access.READ_WRITE)));
      params[8] = 0; // the SDK copied the buffer
      assertEquals(1, fake.frames.size(), "all of these are pipelined");

      byte[] got = gpu.read(b, 8, 16);
      assertArrayEquals(new byte[] {3, 4, 5, 6, 0, 0, 0, 0, (byte) 0xEF, (byte) 0xBE, (byte) 0xEF, (byte) 0xBE,
          (byte) 0xEF, (byte) 0xBE, 0, 0}, got);
      Op raw = fake.ops().stream().filter(Op::hasLaunchRaw).findFirst().orElseThrow();
      assertEquals(42, raw.getLaunchRaw().getParams().byteAt(8));
      assertEquals(b.handle(), raw.getLaunchRaw().getPointers(0).getHandle());
      assertEquals(8, raw.getLaunchRaw().getPointers(0).getHandleOffset());
      assertEquals(io.spillway.protocol.v1.Access.ACCESS_READ_WRITE, raw.getLaunchRaw().getPointers(0).getAccess());
    }
  }

  @Test
  void newOpsCheckTheirArgumentsBeforeSending() {
    try (GpuSession gpu = client.open(SLICE)) {
      DeviceBuffer a = gpu.alloc(64);
      DeviceBuffer other = gpu.alloc(64, 1);
      Module m = gpu.loadModule(new byte[] {1}, "k");
      assertThrows(IllegalArgumentException.class, () -> gpu.copy(a, 60, a, 0, 8));
      assertThrows(IllegalArgumentException.class, () -> gpu.copy(a, 0, other, 0, 8));
      assertThrows(IllegalArgumentException.class, () -> gpu.memset(a, 0, 3, 0, 1));
      assertThrows(IllegalArgumentException.class, () -> gpu.memset(a, 1, 2, 0, 1));
      assertThrows(IllegalArgumentException.class, () -> gpu.memset(a, 0, 1, 256, 1));
      assertThrows(IllegalArgumentException.class, () -> gpu.memset(a, 0, 4, 0, 17));
      assertThrows(IllegalArgumentException.class, () -> gpu.launchRaw(m, "k", Dim3.of(1), Dim3.of(1), 0,
          new byte[12], List.of(new PointerSlot(8, a, 0, KernelArg.Access.READ))));
      assertThrows(IllegalArgumentException.class, () -> new PointerSlot(0, a, 65, KernelArg.Access.READ));
      gpu.flush();
      int sent = fake.ops().size();
      gpu.synchronize();
      assertEquals(sent + 1, fake.ops().size(), "nothing but the synchronize was sent");
    }
  }

  @Test
  void globalsAreBoundInOneRoundTripAndBehaveLikeBuffers() {
    try (GpuSession gpu = client.open(SLICE)) {
      Module m = gpu.loadModule(new byte[] {1}, "k");
      DeviceBuffer g = gpu.global(m, "counter");
      assertEquals(16, g.size());
      Op get = fake.ops().stream().filter(Op::hasGetGlobal).findFirst().orElseThrow();
      assertEquals("counter", get.getGetGlobal().getName());
      assertEquals(g.handle(), get.getGetGlobal().getHandle());
      gpu.write(g, 0, new byte[] {9, 8});
      assertArrayEquals(new byte[] {9, 8}, gpu.read(g, 0, 2));

      SpillwayException e = assertThrows(SpillwayException.class, () -> gpu.global(m, "missing"));
      assertEquals(Status.Code.NOT_FOUND, e.code());
      DeviceBuffer next = gpu.alloc(8);
      assertTrue(next.handle() > g.handle());
    }
  }

  @Test
  void eventsNeedNoRoundTripUntilElapsedIsAsked() {
    try (GpuSession gpu = client.open(SLICE)) {
      GpuEvent start = gpu.createEvent();
      GpuEvent end = gpu.createEvent();
      assertTrue(start.id() != end.id());
      gpu.record(start);
      gpu.record(end);
      gpu.record(end);
      assertEquals(1, fake.frames.size(), "creating and recording events sends nothing yet");
      assertEquals(2.0f, gpu.elapsedMillis(start, end));
      gpu.free(start);
      SpillwayException e = assertThrows(SpillwayException.class, () -> gpu.elapsedMillis(start, end));
      assertEquals(Status.Code.NOT_FOUND, e.code());
      try (GpuSession another = client.open(SLICE)) {
        assertThrows(IllegalArgumentException.class, () -> another.record(end));
      }
    }
  }

  @Test
  void pointersPassedWithoutAnAccessTakeTheOneTheModuleDeclares() {
    try (GpuSession gpu = client.open(SLICE)) {
      DeviceBuffer a = gpu.alloc(64);
      DeviceBuffer c = gpu.alloc(64);
      Module lib = gpu.loadModule(io.spillway.kernels.SpillwayKernels.ptx(), "lib");
      Module other = gpu.loadModule("// ptx".getBytes(StandardCharsets.UTF_8), "other");
      gpu.launch(lib, "vector_add", Dim3.of(1), Dim3.of(16), KernelArg.ptr(a), KernelArg.ptr(a),
          KernelArg.ptr(c), KernelArg.i32(16));
      gpu.launch(lib, "vector_add", Dim3.of(1), Dim3.of(16), KernelArg.ptr(a), KernelArg.ptr(a),
          KernelArg.inOut(c), KernelArg.i32(16));
      gpu.launch(other, "vector_add", Dim3.of(1), Dim3.of(16), KernelArg.ptr(a), KernelArg.ptr(a),
          KernelArg.ptr(c), KernelArg.i32(16));
      gpu.synchronize();

      List<List<io.spillway.protocol.v1.Access>> access = fake.ops().stream().filter(Op::hasLaunch)
          .map(op -> op.getLaunch().getArgsList().subList(0, 3).stream().map(arg -> arg.getPtr().getAccess())
              .toList()).toList();
      var r = io.spillway.protocol.v1.Access.ACCESS_READ;
      var w = io.spillway.protocol.v1.Access.ACCESS_WRITE;
      var rw = io.spillway.protocol.v1.Access.ACCESS_READ_WRITE;
      var none = io.spillway.protocol.v1.Access.ACCESS_UNSPECIFIED;
      assertEquals(List.of(List.of(r, r, w), List.of(r, r, rw), List.of(none, none, none)), access,
          "the library's declaration fills in what a launch leaves unsaid, nothing else");
    }
  }
}
