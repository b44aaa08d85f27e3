package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.client.DeviceBuffer;
import io.spillway.client.Dim3;
import io.spillway.client.GpuSession;
import io.spillway.client.KernelArg;
import io.spillway.client.Module;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.kernels.CpuReference;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.placement.GpuView;
import io.spillway.pool.session.SessionInfo;
import io.spillway.testkit.Await;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Client -> edge gateway -> GPU nodes, all real gRPC on loopback. */
class EdgeForwardingTest {

  private static final long GIB = 1L << 30;

  @Test
  void inferenceThroughTheGatewayMatchesTheCpuAndSaysWhereItRuns() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.addNode("node-a", 2, "V100", 32 * GIB);
      SpillwayClient client = pool.client();
      MlpModel model = MlpModel.random(3, 32, 64, 10);
      try (GpuSession gpu = client.open(SliceRequest.builder().tenant("acme").memoryBytes(GIB).build())) {
        assertEquals("node-a", gpu.devices().get(0).node());
        assertEquals("edge/t", gpu.devices().get(0).pool());
        assertTrue(gpu.sessionId().startsWith("edge-t-"), gpu.sessionId());
        MlpService service = new MlpService(gpu, model, 8);
        float[] x = model.randomInput(9, 8);
        assertTrue(MlpModel.maxAbsDiff(service.infer(x, 8), model.forwardCpu(x, 8)) < 1e-5);
        SessionInfo info = pool.gateway.sessions().get(0);
        assertEquals("acme", info.tenant());
        assertEquals("node-a", info.nodeId());
        assertTrue(info.opsForwarded() > 5, "ops forwarded: " + info.opsForwarded());
        assertNotEquals(gpu.sessionId(), info.nodeSessionId());
      }
      Await.until("the closed session is gone", () -> pool.gateway.sessions().isEmpty());
      assertEquals(0, pool.gateway.placer().snapshot().gpus().stream()
          .mapToLong(GpuView::memoryAllocatedBytes).sum(), "closing returns the slice");
    }
  }

  @Test
  void errorsFromTheNodePassThroughWithTheirStatusAndTheSessionGoesOn() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.addNode("node-a", 1, "V100", 32 * GIB);
      try (GpuSession gpu = pool.client().open(SliceRequest.builder().tenant("acme").memoryBytes(GIB).build())) {
        DeviceBuffer b = gpu.alloc(64);
        Module m = gpu.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
        gpu.launch(m, SpillwayKernels.VECTOR_ADD, Dim3.of(1), Dim3.of(32), KernelArg.ptr(b));
        SpillwayException e = assertThrows(SpillwayException.class, gpu::synchronize);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("1 arguments given; the kernel declares 4"), e.getMessage());
        gpu.write(b, 0, new byte[] {5, 6});
        assertEquals(6, gpu.read(b, 1, 1)[0]);
        Await.until("the error is counted", () -> pool.gateway.sessions().get(0).errors() == 1);
      }
    }
  }

  @Test
  void typeLabelsChooseTheCards() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.addNode("node-v", 2, "V100", 32 * GIB);
      pool.addNode("node-p", 2, "P40", 24 * GIB);
      SpillwayClient client = pool.client();
      try (GpuSession p40 = client.open(SliceRequest.builder().tenant("t").memoryBytes(GIB).models("p40").build());
          GpuSession notP40 = client.open(SliceRequest.builder().tenant("t").memoryBytes(GIB)
              .excludeModels("P40").build())) {
        assertEquals("P40", p40.devices().get(0).model());
        assertEquals("node-p", p40.devices().get(0).node());
        assertEquals("V100", notP40.devices().get(0).model());
      }
      SpillwayException e = assertThrows(SpillwayException.class, () -> client.open(
          SliceRequest.builder().tenant("t").memoryBytes(GIB).models("T4").build()));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
      assertTrue(e.getMessage().contains("T4"), e.getMessage());
    }
  }

  @Test
  void multiGpuSessionRunsOnEachOfItsCards() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.addNode("node-a", 4, "V100", 32 * GIB);
      try (GpuSession gpu = pool.client().open(SliceRequest.builder().tenant("t").gpuCount(2)
          .memoryBytes(GIB).build())) {
        assertEquals(2, gpu.devices().size());
        assertNotEquals(gpu.devices().get(0).gpuUuid(), gpu.devices().get(1).gpuUuid());
        Module m = gpu.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
        int n = 100;
        float[] a = new float[n];
        float[] bv = new float[n];
        for (int i = 0; i < n; i++) {
          a[i] = i;
          bv[i] = 1000 - i;
        }
        for (int dev = 0; dev < 2; dev++) {
          DeviceBuffer x = gpu.alloc(4L * n, dev);
          DeviceBuffer y = gpu.alloc(4L * n, dev);
          gpu.upload(x, a);
          gpu.upload(y, bv);
          gpu.launchOnDevice(dev, m, SpillwayKernels.SAXPY, Dim3.of(1), Dim3.of(128), 0, KernelArg.f32(dev + 2f),
              KernelArg.ptr(x), KernelArg.ptr(y), KernelArg.i32(n));
          float[] expected = CpuReference.saxpy(dev + 2f, a, bv);
          float[] got = gpu.downloadFloats(y, n);
          assertTrue(MlpModel.maxAbsDiff(expected, got) == 0f, "device " + dev);
        }
      }
    }
  }

  @Test
  void multiGpuSessionAcrossServersRoutesEachOpToItsServer() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.addNode("node-a", 1, "V100", 32 * GIB);
      pool.addNode("node-b", 1, "V100", 32 * GIB);
      try (GpuSession gpu = pool.client().open(SliceRequest.builder().tenant("t").gpuCount(2)
          .memoryBytes(GIB).build())) {
        assertEquals(2, gpu.devices().size());
        assertEquals(0, gpu.devices().get(0).index());
        assertEquals(1, gpu.devices().get(1).index());
        assertNotEquals(gpu.devices().get(0).node(), gpu.devices().get(1).node(), "one GPU per server");
        Module m = gpu.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
        int n = 64;
        float[] a = new float[n];
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
          a[i] = i * 0.5f;
          b[i] = 7 - i;
        }
        DeviceBuffer[] ys = new DeviceBuffer[2];
        for (int dev = 0; dev < 2; dev++) {
          DeviceBuffer x = gpu.alloc(4L * n, dev);
          ys[dev] = gpu.alloc(4L * n, dev);
          gpu.upload(x, a);
          gpu.upload(ys[dev], b);
          gpu.launchOnDevice(dev, m, SpillwayKernels.SAXPY, Dim3.of(1), Dim3.of(64), 0, KernelArg.f32(dev + 1f),
              KernelArg.ptr(x), KernelArg.ptr(ys[dev]), KernelArg.i32(n));
        }
        for (int dev = 0; dev < 2; dev++) {
          assertEquals(0f, MlpModel.maxAbsDiff(CpuReference.saxpy(dev + 1f, a, b), gpu.downloadFloats(ys[dev], n)),
              "device " + dev);
        }
        // An error on the second server surfaces at the next synchronizing call, even a read served by
        // the first, and the session goes on.
        gpu.launchOnDevice(1, m, SpillwayKernels.SAXPY, Dim3.of(1), Dim3.of(64), 0, KernelArg.ptr(ys[1]));
        SpillwayException e = assertThrows(SpillwayException.class, () -> gpu.downloadFloats(ys[0], n));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
        assertEquals(2, pool.nodes.stream().mapToInt(s -> s.node().sessions().size()).sum(),
            "one node-side session on each server");
        assertEquals(0f, MlpModel.maxAbsDiff(CpuReference.saxpy(1f, a, b), gpu.downloadFloats(ys[0], n)));
      }
      Await.until("closing ends the session on both servers",
          () -> pool.nodes.stream().allMatch(s -> s.node().sessions().isEmpty()));
      Await.until("the gateway forgets it", () -> pool.gateway.sessions().isEmpty());
    }
  }

  @Test
  void fractionalPackingFillsCardsUntilMemoryIsExhaustedAndNeverBeyond() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.addNode("node-a", 8, "V100", 32 * GIB);
      SpillwayClient client = pool.client();
      long[] asks = {4, 16, 8, 12, 4, 16, 8, 8, 12, 16, 4, 8, 16, 12, 8, 4};
      List<GpuSession> open = new ArrayList<>();
      long placed = 0;
      int refused = 0;
      for (int round = 0; round < 4; round++) {
        for (long gib : asks) {
          try {
            open.add(client.open(SliceRequest.builder().tenant("t" + open.size()).memoryBytes(gib * GIB).build()));
            placed += gib;
          } catch (SpillwayException e) {
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
            refused++;
          }
          for (GpuView g : pool.gateway.placer().snapshot().gpus()) {
            assertTrue(g.memoryAllocatedBytes() <= g.memoryLimitBytes(), "card overcommitted: " + g);
          }
        }
      }
      assertTrue(refused > 0, "the asks exceed 256 GiB, so some must be refused");
      long free = pool.gateway.placer().snapshot().gpus().stream().mapToLong(GpuView::memoryFreeBytes).sum();
      assertEquals(256 * GIB, placed * GIB + free);
      assertTrue(free < 4 * GIB * 8, "binpacking leaves less than the smallest ask free per card: " + free);
      // Every session placed was really opened on the node, on the card the gateway chose.
      long onNodes = pool.nodes.get(0).node().sessions().size();
      assertEquals(open.size(), onNodes);
      open.forEach(GpuSession::close);
    }
  }

  @Test
  void withoutAJournalANodeDyingFailsItsSessionsWithUnavailableAtOnce() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.gateway.failover(FailoverConfig.off());
      GpuNodeServer doomed = pool.addNode("node-a", 1, "V100", 32 * GIB);
      pool.addNode("node-b", 1, "V100", 32 * GIB);
      SpillwayClient client = pool.client();
      GpuSession onA = client.open(SliceRequest.builder().tenant("t").memoryBytes(GIB)
          .models("V100").build());
      GpuSession other = onA.devices().get(0).node().equals("node-a") ? null : onA;
      GpuSession a = onA;
      if (other != null) { // make sure one session is on node-a
        a = client.open(SliceRequest.builder().tenant("t").memoryBytes(31 * GIB).build());
      }
      String victimNode = a.devices().get(0).node();
      pool.kill(victimNode.equals("node-a") ? doomed : pool.nodes.get(1));
      long t0 = System.nanoTime();
      GpuSession victim = a;
      SpillwayException e = assertThrows(SpillwayException.class, () -> {
        victim.alloc(64);
        victim.synchronize();
      });
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertEquals(Status.Code.UNAVAILABLE, e.code(), e.getMessage());
      assertTrue(e.getMessage().contains(victimNode), e.getMessage());
      assertTrue(ms < 5000, "noticed after " + ms + " ms");
      // The gateway marked the dead node down at once: the next open lands on the survivor.
      Await.until(victimNode + " marked down without waiting for heartbeats",
          () -> !pool.gateway.registry().node(victimNode).orElseThrow().isUp());
      try (GpuSession next = client.open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build())) {
        assertNotEquals(victimNode, next.devices().get(0).node());
      }
    }
  }

  @Test
  void aNodeThatStopsHeartbeatingLeavesThePoolAndRejoinsEmpty() throws Exception {
    GatewayConfig fast = GatewayConfig.local("edge-t", "edge/t")
        .withHeartbeat(java.time.Duration.ofMillis(100), java.time.Duration.ofMillis(500));
    try (TestPool pool = new TestPool(fast)) {
      pool.gateway.failover(FailoverConfig.off()); // FailoverTest covers the session moving instead
      pool.addNode("node-a", 1, "V100", 32 * GIB);
      GpuSession gpu = pool.client().open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
      pool.registrars.get(0).close(); // the node still serves, but the gateway hears nothing from it
      Await.until("node-a is down", () -> !pool.gateway.registry().node("node-a").orElseThrow().isUp());
      Await.until("the gateway ended the session on node-a", () -> pool.gateway.sessions().isEmpty());
      SpillwayException e = assertThrows(SpillwayException.class, gpu::synchronize);
      assertEquals(Status.Code.UNAVAILABLE, e.code());
      assertTrue(e.getMessage().contains("node-a") && e.getMessage().contains("is down"), e.getMessage());
      assertEquals(0, pool.gateway.placer().snapshot().gpus().stream().filter(GpuView::busy).count());
      assertThrows(SpillwayException.class, () -> pool.client().open(
          SliceRequest.builder().tenant("t").memoryBytes(GIB).build()), "no node is up");
      // It comes back: a fresh registrar registers it again and it takes sessions.
      var node = pool.nodes.get(0);
      pool.registrars.add(new io.spillway.node.registration.GatewayRegistrar(node.node(), pool.gateway.address(),
          "127.0.0.1:" + node.port(), 100).start());
      Await.until("node-a is back", () -> pool.gateway.registry().node("node-a").orElseThrow().isUp());
      try (GpuSession again = pool.client().open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build())) {
        assertEquals("node-a", again.devices().get(0).node());
      }
    }
  }

  @Test
  void concurrentOpensRacingForTheLastSlicesNeverOvercommit() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.addNode("node-a", 2, "V100", 32 * GIB);
      SpillwayClient client = pool.client();
      int racers = 24; // 2 cards x 4 slices of 8 GiB = 8 winners
      CountDownLatch go = new CountDownLatch(1);
      AtomicInteger refused = new AtomicInteger();
      ExecutorService threads = Executors.newFixedThreadPool(racers);
      List<Future<GpuSession>> results = new ArrayList<>();
      for (int i = 0; i < racers; i++) {
        int n = i;
        results.add(threads.submit(() -> {
          go.await();
          try {
            return client.open(SliceRequest.builder().tenant("t" + n).memoryBytes(8 * GIB).build());
          } catch (SpillwayException e) {
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
            refused.incrementAndGet();
            return null;
          }
        }));
      }
      go.countDown();
      List<GpuSession> winners = new ArrayList<>();
      for (Future<GpuSession> f : results) {
        GpuSession s = f.get(30, TimeUnit.SECONDS);
        if (s != null) {
          winners.add(s);
        }
      }
      threads.shutdown();
      assertEquals(8, winners.size());
      assertEquals(racers - 8, refused.get());
      for (GpuView g : pool.gateway.placer().snapshot().gpus()) {
        assertEquals(32 * GIB, g.memoryAllocatedBytes());
      }
      winners.forEach(GpuSession::close);
    }
  }
}
