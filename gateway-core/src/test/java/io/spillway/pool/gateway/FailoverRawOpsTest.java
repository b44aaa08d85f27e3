package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.client.DeviceBuffer;
import io.spillway.client.Dim3;
import io.spillway.client.GpuEvent;
import io.spillway.client.GpuSession;
import io.spillway.client.KernelArg;
import io.spillway.client.Module;
import io.spillway.client.PointerSlot;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayException;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.session.SessionInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Failover of sessions that use what unmodified CUDA programs need (protocol version 2): buffers whose
 * contents come from raw launches, copies and memsets are rebuilt by running those ops again, in order;
 * what cannot be rebuilt fails with FAILED_PRECONDITION and the reason, and event times across a move
 * answer ABORTED. Buffers are scratch and every pointer is read-write, as the CUDA agent sends them.
 */
class FailoverRawOpsTest {

  private static final long GIB = 1L << 30;
  private static final int N = 1024;

  private static TestPool twoNodes() throws Exception {
    TestPool pool = new TestPool();
    pool.addNode("node-a", 1, "V100", 32 * GIB);
    pool.addNode("node-b", 1, "V100", 32 * GIB);
    return pool;
  }

  private static GpuNodeServer serverOf(TestPool pool, GpuSession s) {
    String node = s.devices().get(0).node();
    return pool.nodes.stream().filter(n -> n.node().options().nodeId().equals(node)).findFirst().orElseThrow();
  }

  /** vector_add(a, b, c, n) as the shim sends it: raw parameters, every pointer read-write. */
  private static void vectorAdd(GpuSession s, Module m, DeviceBuffer a, DeviceBuffer b, DeviceBuffer c) {
    byte[] params = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN).putInt(24, N).array();
    s.launchRaw(m, SpillwayKernels.VECTOR_ADD, Dim3.of((N + 255) / 256), Dim3.of(256), 0, params, List.of(
        new PointerSlot(0, a, 0, KernelArg.Access.READ_WRITE), new PointerSlot(8, b, 0, KernelArg.Access.READ_WRITE),
        new PointerSlot(16, c, 0, KernelArg.Access.READ_WRITE)));
  }

  private static float[] ramp(float plus) {
    float[] f = new float[N];
    for (int i = 0; i < N; i++) {
      f[i] = i + plus;
    }
    return f;
  }

  @Test
  void stateBuiltByRawLaunchesCopiesAndMemsetsIsRebuiltAndGivesTheRightResult() throws Exception {
    try (TestPool pool = twoNodes()) {
      GpuSession s = pool.client().open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
      Module m = s.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
      DeviceBuffer a = s.alloc(4L * N);
      DeviceBuffer b = s.alloc(4L * N);
      DeviceBuffer c = s.alloc(4L * N);
      DeviceBuffer old = s.alloc(4L * N);
      s.upload(a, ramp(0));
      s.memset(b, 0, 4, Float.floatToRawIntBits(2f), N);
      s.synchronize();
      vectorAdd(s, m, a, b, c); // c = i + 2
      s.synchronize();
      s.copy(old, 0, a, 0, 4L * N); // old = i
      s.copy(a, 0, c, 0, 4L * N); // a = i + 2
      s.free(c);
      DeviceBuffer d = s.alloc(4L * N);
      vectorAdd(s, m, a, b, d); // d = i + 4
      assertArrayEquals(ramp(4), s.downloadFloats(d, N));
      SessionInfo before = pool.gateway.sessions().get(0);
      assertTrue(before.replayable(), before.notReplayableReason());

      GpuNodeServer first = serverOf(pool, s);
      pool.kill(first);
      // Every buffer holds, on the new node, what the ops that produced it left there.
      assertArrayEquals(ramp(4), s.downloadFloats(d, N));
      assertArrayEquals(ramp(2), s.downloadFloats(a, N));
      assertArrayEquals(ramp(0), s.downloadFloats(old, N));
      assertNotEquals(first.node().options().nodeId(), s.devices().get(0).node());
      // And the session goes on there.
      vectorAdd(s, m, d, b, a); // a = i + 6
      assertArrayEquals(ramp(6), s.downloadFloats(a, N));
      assertEquals(1, pool.gateway.sessions().get(0).replays());
      s.close();
    }
  }

  @Test
  void aRawLaunchThatReadTypedLaunchOutputCannotBeRebuiltAndSaysWhy() throws Exception {
    try (TestPool pool = twoNodes()) {
      GpuSession s = pool.client().open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
      Module m = s.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
      DeviceBuffer a = s.alloc(4L * N);
      DeviceBuffer b = s.alloc(4L * N);
      DeviceBuffer c = s.alloc(4L * N);
      s.upload(a, ramp(0));
      s.upload(b, ramp(0));
      // A typed launch's scratch output is not journaled (the SDK's contract) ...
      s.launch(m, SpillwayKernels.VECTOR_ADD, Dim3.of((N + 255) / 256), Dim3.of(256), KernelArg.in(a),
          KernelArg.in(b), KernelArg.out(c), KernelArg.i32(N));
      s.synchronize();
      // ... so what a raw launch computes from it after the synchronize cannot be rebuilt.
      vectorAdd(s, m, c, b, a);
      s.synchronize();
      SessionInfo info = pool.gateway.sessions().get(0);
      assertTrue(!info.replayable() && info.notReplayableReason().contains("not journaled"),
          info.notReplayableReason());
      pool.kill(serverOf(pool, s));
      SpillwayException e = assertThrows(SpillwayException.class, () -> s.downloadFloats(a, N));
      assertEquals(Status.Code.FAILED_PRECONDITION, e.code(), e.getMessage());
      assertTrue(e.getMessage().contains("not journaled"), e.getMessage());
    }
  }

  @Test
  void eventTimesDoNotCompareAcrossAMoveButNewOnesDo() throws Exception {
    try (TestPool pool = twoNodes()) {
      GpuSession s = pool.client().open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
      Module m = s.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
      DeviceBuffer a = s.alloc(4L * N);
      GpuEvent start = s.createEvent();
      GpuEvent end = s.createEvent();
      s.record(start);
      vectorAdd(s, m, a, a, a);
      s.record(end);
      assertTrue(s.elapsedMillis(start, end) >= 0);
      pool.kill(serverOf(pool, s));
      GpuEvent later = s.createEvent();
      s.record(later);
      SpillwayException e = assertThrows(SpillwayException.class, () -> s.elapsedMillis(start, later));
      assertEquals(Status.Code.ABORTED, e.code(), e.getMessage());
      assertTrue(e.getMessage().contains("moved the session"), e.getMessage());
      s.record(start);
      vectorAdd(s, m, a, a, a);
      s.record(end);
      assertTrue(s.elapsedMillis(start, end) >= 0, "events recorded again time on the new GPU");
      s.close();
    }
  }

  @Test
  void aSessionTheClientMarkedFailsRatherThanMove() throws Exception {
    try (TestPool pool = twoNodes()) {
      GpuSession s = pool.client().open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
      DeviceBuffer a = s.alloc(64);
      s.forbidReplay("a device address was written into buffer " + a.handle());
      s.synchronize();
      SessionInfo info = pool.gateway.sessions().get(0);
      assertTrue(!info.replayable() && info.notReplayableReason().contains("device address"),
          info.notReplayableReason());
      pool.kill(serverOf(pool, s));
      SpillwayException e = assertThrows(SpillwayException.class, () -> s.read(a, 0, 8));
      assertEquals(Status.Code.FAILED_PRECONDITION, e.code(), e.getMessage());
    }
  }
}
