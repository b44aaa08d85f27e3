package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.session.SessionInfo;
import io.spillway.testkit.Await;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Sessions outliving their GPU server: the edge rebuilds them on another node from its journal, and
 * the client sees correct results and no error; sessions that cannot be rebuilt fail with
 * FAILED_PRECONDITION and the reason, never with a wrong result.
 */
class FailoverTest {

  private static final long GIB = 1L << 30;

  /** Opens a session on whichever node; returns it with the server it landed on. */
  private record Placed(GpuSession session, GpuNodeServer server) {}

  private static Placed open(TestPool pool, SpillwayClient client) {
    GpuSession s = client.open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
    String node = s.devices().get(0).node();
    GpuNodeServer server = pool.nodes.stream().filter(n -> n.node().options().nodeId().equals(node)).findFirst()
        .orElseThrow();
    return new Placed(s, server);
  }

  private static TestPool twoNodes() throws Exception {
    TestPool pool = new TestPool();
    pool.addNode("node-a", 1, "V100", 32 * GIB);
    pool.addNode("node-b", 1, "V100", 32 * GIB);
    return pool;
  }

  @Test
  void mlpInferenceGoesOnCorrectlyWhenItsNodeDies() throws Exception {
    try (TestPool pool = twoNodes()) {
      SpillwayClient client = pool.client();
      Placed p = open(pool, client);
      MlpModel model = MlpModel.random(7, 64, 128, 10);
      MlpService mlp = new MlpService(p.session(), model, 8);
      SplittableRandom seeds = new SplittableRandom(3);
      for (int i = 0; i < 5; i++) {
        check(model, mlp, seeds.nextLong(), 1 + i);
      }
      String before = p.session().devices().get(0).node();
      pool.kill(p.server());
      for (int i = 0; i < 20; i++) {
        check(model, mlp, seeds.nextLong(), 1 + i % 8);
      }
      String after = p.session().devices().get(0).node();
      assertNotEquals(before, after, "the client was told where the session lives now");
      SessionInfo info = pool.gateway.sessions().get(0);
      assertEquals(1, info.replays());
      assertTrue(info.replayable(), info.notReplayableReason());
      assertTrue(info.journalBytes() >= model.parameterBytes(), "weights journaled: " + info.journalBytes());
      p.session().close();
    }
  }

  private static void check(MlpModel model, MlpService mlp, long seed, int batch) {
    float[] x = model.randomInput(seed, batch);
    float[] got = mlp.infer(x, batch);
    float diff = MlpModel.maxAbsDiff(model.forwardCpu(x, batch), got);
    assertTrue(diff < 1e-4f, "result differs from the CPU reference by " + diff);
  }

  @Test
  void opsSentButNotYetSynchronizedAreReplayedOnTheNewNode() throws Exception {
    try (TestPool pool = twoNodes()) {
      Placed p = open(pool, pool.client());
      GpuSession s = p.session();
      int n = 4096;
      Module m = s.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
      DeviceBuffer a = s.allocPersistent(4L * n);
      s.upload(a, ramp(n, 1));
      s.synchronize();
      // After the last synchronizing call: a scratch input, a kernel, and a read still to come.
      DeviceBuffer b = s.alloc(4L * n);
      DeviceBuffer c = s.alloc(4L * n);
      s.upload(b, ramp(n, 10));
      s.launch(m, SpillwayKernels.VECTOR_ADD, Dim3.of((n + 255) / 256), Dim3.of(256),
          KernelArg.in(a), KernelArg.in(b), KernelArg.out(c), KernelArg.i32(n));
      s.flush();
      pool.kill(p.server());
      float[] got = s.downloadFloats(c, n);
      float[] want = new float[n];
      for (int i = 0; i < n; i++) {
        want[i] = i * 1f + i * 10f;
      }
      assertArrayEquals(want, got);
      assertEquals(1, pool.gateway.sessions().get(0).replays());
      s.close();
    }
  }

  @Test
  void launchesOfTheKernelLibraryNeedNoAccessDeclaredToBeReplayable() throws Exception {
    try (TestPool pool = twoNodes()) {
      Placed p = open(pool, pool.client());
      GpuSession s = p.session();
      int n = 1024;
      Module m = s.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
      DeviceBuffer weights = s.allocPersistent(4L * n);
      DeviceBuffer x = s.alloc(4L * n);
      DeviceBuffer y = s.alloc(4L * n);
      s.upload(weights, ramp(n, 2));
      s.synchronize();
      // Plain ptr() arguments: the SDK knows what the library's vector_add does with each.
      s.upload(x, ramp(n, 1));
      s.launch(m, SpillwayKernels.VECTOR_ADD, Dim3.of((n + 255) / 256), Dim3.of(256),
          KernelArg.ptr(weights), KernelArg.ptr(x), KernelArg.ptr(y), KernelArg.i32(n));
      s.flush();
      assertTrue(pool.gateway.sessions().get(0).replayable(), pool.gateway.sessions().get(0).notReplayableReason());
      pool.kill(p.server());
      float[] got = s.downloadFloats(y, n);
      for (int i = 0; i < n; i++) {
        assertEquals(3f * i, got[i], "y[" + i + "]");
      }
      s.close();
    }
  }

  @Test
  void aKernelGivenAPersistentBufferToWriteMakesTheSessionNonReplayable() throws Exception {
    try (TestPool pool = twoNodes()) {
      Placed p = open(pool, pool.client());
      GpuSession s = p.session();
      int n = 256;
      Module m = s.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
      DeviceBuffer x = s.allocPersistent(4L * n);
      DeviceBuffer y = s.allocPersistent(4L * n);
      s.upload(x, ramp(n, 1));
      s.upload(y, ramp(n, 1));
      // saxpy updates y in place: its journaled contents would be stale.
      s.launch(m, SpillwayKernels.SAXPY, Dim3.of(1), Dim3.of(256), KernelArg.f32(2f), KernelArg.in(x),
          KernelArg.inOut(y), KernelArg.i32(n));
      s.synchronize();
      SessionInfo info = pool.gateway.sessions().get(0);
      assertFalse(info.replayable());
      assertTrue(info.notReplayableReason().contains("persistent buffer " + y.handle()),
          info.notReplayableReason());
      assertEquals(0, info.journalBytes(), "a journal that cannot be used is dropped");
      pool.kill(p.server());
      SpillwayException e = assertThrows(SpillwayException.class, () -> s.downloadFloats(y, n));
      assertEquals(Status.Code.FAILED_PRECONDITION, e.code(), e.getMessage());
      assertTrue(e.getMessage().contains("cannot be rebuilt"), e.getMessage());
    }
  }

  @Test
  void aScratchBufferCarriedAcrossASynchronizeIsNotReplayedWrongly() throws Exception {
    try (TestPool pool = twoNodes()) {
      Placed p = open(pool, pool.client());
      GpuSession s = p.session();
      int n = 256;
      Module m = s.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
      DeviceBuffer x = s.allocPersistent(4L * n);
      DeviceBuffer acc = s.alloc(4L * n);
      s.upload(x, ramp(n, 1));
      s.upload(acc, ramp(n, 5));
      s.launch(m, SpillwayKernels.SAXPY, Dim3.of(1), Dim3.of(256), KernelArg.f32(1f), KernelArg.in(x),
          KernelArg.inOut(acc), KernelArg.i32(n));
      s.synchronize();
      // The accumulator's value from before the synchronize, which a typed launch wrote, is read: by the
      // SDK's contract a typed launch's scratch output is not journaled.
      s.launch(m, SpillwayKernels.SAXPY, Dim3.of(1), Dim3.of(256), KernelArg.f32(1f), KernelArg.in(x),
          KernelArg.inOut(acc), KernelArg.i32(n));
      s.flush();
      pool.kill(p.server());
      SpillwayException e = assertThrows(SpillwayException.class, () -> s.downloadFloats(acc, n));
      assertEquals(Status.Code.FAILED_PRECONDITION, e.code(), e.getMessage());
      assertTrue(e.getMessage().contains("scratch buffer " + acc.handle()), e.getMessage());
    }
  }

  @Test
  void aJournalOverItsBoundSaysSoAndTheSessionFailsCleanly() throws Exception {
    try (TestPool pool = twoNodes()) {
      pool.gateway.failover(FailoverConfig.defaults().withBounds(64 << 10, 1L << 30));
      Placed p = open(pool, pool.client());
      GpuSession s = p.session();
      DeviceBuffer weights = s.allocPersistent(256 << 10);
      s.write(weights, 0, new byte[256 << 10]);
      s.synchronize();
      SessionInfo info = pool.gateway.sessions().get(0);
      assertFalse(info.replayable());
      assertTrue(info.notReplayableReason().contains("journal bound"), info.notReplayableReason());
      // The session itself goes on where it is.
      assertArrayEquals(new byte[16], s.read(weights, 0, 16));
      pool.kill(p.server());
      SpillwayException e = assertThrows(SpillwayException.class, () -> s.read(weights, 0, 16));
      assertEquals(Status.Code.FAILED_PRECONDITION, e.code(), e.getMessage());
      assertEquals(0, pool.gateway.journalBytes(), "the gateway's journal budget is given back");
    }
  }

  @Test
  void withNowhereToGoTheSessionFailsWithUnavailableAfterTheReplayDeadline() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.gateway.failover(FailoverConfig.defaults().withReplayDeadline(Duration.ofMillis(800)));
      pool.addNode("node-a", 1, "V100", 32 * GIB);
      Placed p = open(pool, pool.client());
      DeviceBuffer b = p.session().alloc(64);
      p.session().synchronize();
      pool.kill(p.server());
      long t0 = System.nanoTime();
      SpillwayException e = assertThrows(SpillwayException.class, () -> p.session().read(b, 0, 8));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(Status.Code.UNAVAILABLE, e.code(), e.getMessage());
      assertTrue(e.getMessage().contains("could not be rebuilt"), e.getMessage());
      assertTrue(ms >= 700, "gave up after " + ms + " ms, before its deadline");
    }
  }

  @Test
  void manySessionsOnADyingNodeAllMoveAndStayIsolated() throws Exception {
    try (TestPool pool = twoNodes()) {
      SpillwayClient client = pool.client();
      MlpModel model = MlpModel.random(11, 32, 64, 8);
      List<GpuSession> sessions = new java.util.ArrayList<>();
      List<MlpService> services = new java.util.ArrayList<>();
      for (int i = 0; i < 6; i++) {
        GpuSession s = client.open(SliceRequest.builder().tenant("t" + (i % 2)).memoryBytes(GIB).build());
        sessions.add(s);
        services.add(new MlpService(s, model, 4));
      }
      pool.kill(pool.nodes.get(0));
      SplittableRandom seeds = new SplittableRandom(5);
      for (int round = 0; round < 5; round++) {
        for (MlpService mlp : services) {
          check(model, mlp, seeds.nextLong(), 1 + round % 4);
        }
      }
      for (GpuSession s : sessions) {
        assertEquals("node-b", s.devices().get(0).node());
        s.close();
      }
    }
  }

  @Test
  void aNodeThatMissesItsHeartbeatsLosesItsSessionsToAnotherNode() throws Exception {
    GatewayConfig fast = GatewayConfig.local("edge-t", "edge/t")
        .withHeartbeat(Duration.ofMillis(100), Duration.ofMillis(500));
    try (TestPool pool = new TestPool(fast)) {
      pool.addNode("node-a", 1, "V100", 32 * GIB);
      pool.addNode("node-b", 1, "V100", 32 * GIB);
      Placed p = open(pool, pool.client());
      MlpModel model = MlpModel.random(13, 16, 32, 4);
      MlpService mlp = new MlpService(p.session(), model, 2);
      check(model, mlp, 1, 2);
      // The node still serves, but the gateway hears nothing from it: its heartbeats time out.
      pool.registrars.get(pool.nodes.indexOf(p.server())).close();
      String before = p.session().devices().get(0).node();
      Await.until("the session moved off " + before,
          () -> pool.gateway.sessions().stream().anyMatch(i -> i.replays() == 1));
      check(model, mlp, 2, 2);
      assertNotEquals(before, p.session().devices().get(0).node());
      assertTrue(p.server().node().sessions().isEmpty(), "the abandoned stream was cancelled on the old node");
    }
  }

  @Test
  void aReadCutHalfwayIsCompletedFromTheNewNodeWithoutRepeatingBytes() throws Exception {
    try (TestPool pool = new TestPool()) {
      // node-a is reached through a link that dies in the middle of a read's answer.
      io.spillway.node.GpuNode a = new io.spillway.node.GpuNode(new io.spillway.node.NodeOptions("node-a",
          "edge/t", 0, 256 << 10, io.spillway.node.NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000),
          io.spillway.node.driver.HostGpuDriver.withCards(1, "V100", 32 * GIB));
      GpuNodeServer server = new GpuNodeServer(a, "127.0.0.1", 0).start();
      pool.nodes.add(server);
      try (CuttingProxy link = new CuttingProxy(server.port())) {
        pool.registrars.add(new io.spillway.node.registration.GatewayRegistrar(a, pool.gateway.address(),
            "127.0.0.1:" + link.port(), 200).start());
        Await.until("node-a registered", () -> pool.gateway.registry().node("node-a").map(n -> n.isUp()).orElse(false));
        GpuSession s = pool.client().open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
        assertEquals("node-a", s.devices().get(0).node());
        pool.addNode("node-b", 1, "V100", 32 * GIB);
        int size = 8 << 20;
        byte[] data = new byte[size];
        new SplittableRandom(9).nextBytes(data);
        DeviceBuffer w = s.allocPersistent(size);
        s.write(w, 0, data);
        s.synchronize();
        link.cutAfter(3 << 20);
        byte[] back = s.read(w, 0, size);
        assertTrue(link.didCut(), "the link was cut during the read");
        assertEquals("node-b", s.devices().get(0).node());
        assertArrayEquals(data, back, "every byte once, in place");
        s.close();
      }
    }
  }

  @Test
  void reUploadingWeightsDoesNotGrowTheJournal() throws Exception {
    try (TestPool pool = twoNodes()) {
      Placed p = open(pool, pool.client());
      int size = 4 << 20;
      DeviceBuffer w = p.session().allocPersistent(size);
      for (int i = 0; i < 5; i++) {
        p.session().write(w, 0, new byte[size]);
        p.session().synchronize();
      }
      long bytes = pool.gateway.sessions().get(0).journalBytes();
      assertTrue(bytes >= size && bytes < size + (64 << 10), "journal holds one copy: " + bytes);
      p.session().close();
    }
  }

  private static float[] ramp(int n, float scale) {
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = i * scale;
    }
    return f;
  }
}
