package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.spillway.client.DeviceBuffer;
import io.spillway.client.Dim3;
import io.spillway.client.GpuSession;
import io.spillway.client.KernelArg;
import io.spillway.client.Module;
import io.spillway.client.PointerSlot;
import io.spillway.client.SliceRequest;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.WithVariables;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.testkit.Await;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Sessions whose state lives in module variables are rebuilt on another node with the variables' values:
 * a variable bound with get_global and written from the host and through a pointer slot (on nodes whose
 * driver gives every module a 16-byte variable "weights", so the kernel library can point at it), and
 * variables a kernel of their own module reads and updates without any pointer (the host driver's PTX
 * executor runs it).
 */
class FailoverModuleVariablesTest {

  private static final long GIB = 1L << 30;

  private static void addNode(TestPool pool, String id) throws Exception {
    GpuNode node = new GpuNode(new NodeOptions(id, pool.gateway.config().pool(), 0,
        NodeOptions.DEFAULT_CHUNK_BYTES, NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000),
        WithVariables.hostDriver(1, "V100", 32 * GIB));
    GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    pool.nodes.add(server);
    pool.registrars.add(new GatewayRegistrar(node, pool.gateway.address(), "127.0.0.1:" + server.port(), 200)
        .start());
    Await.until(id + " registered", () -> pool.gateway.registry().node(id).map(n -> n.isUp()).orElse(false));
  }

  private static float[] floats(byte[] bytes) {
    float[] f = new float[bytes.length / 4];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
    return f;
  }

  /** vector_add(a, b, c, 4), every pointer read-write as the shim sends them. */
  private static void vectorAdd(GpuSession s, Module m, DeviceBuffer a, DeviceBuffer b, DeviceBuffer c) {
    byte[] params = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN).putInt(24, 4).array();
    s.launchRaw(m, SpillwayKernels.VECTOR_ADD, Dim3.of(1), Dim3.of(32), 0, params, List.of(
        new PointerSlot(0, a, 0, KernelArg.Access.READ_WRITE), new PointerSlot(8, b, 0, KernelArg.Access.READ_WRITE),
        new PointerSlot(16, c, 0, KernelArg.Access.READ_WRITE)));
  }

  @Test
  void aVariableWrittenByTheHostAndAKernelHasItsValueOnTheNewNode() throws Exception {
    try (TestPool pool = new TestPool()) {
      addNode(pool, "node-a");
      addNode(pool, "node-b");
      GpuSession s = pool.client().open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
      Module m = s.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
      DeviceBuffer weights = s.global(m, "weights");
      assertEquals(16, weights.size());
      s.write(weights, 0, new float[] {1, 2, 3, 4});
      DeviceBuffer ten = s.alloc(16);
      s.memset(ten, 0, 4, Float.floatToRawIntBits(10f), 4);
      vectorAdd(s, m, weights, ten, weights); // weights = 11..14
      assertArrayEquals(new float[] {11, 12, 13, 14}, floats(s.read(weights, 0, 16)));
      String before = s.devices().get(0).node();

      GpuNodeServer first = pool.nodes.stream().filter(n -> n.node().options().nodeId().equals(before))
          .findFirst().orElseThrow();
      pool.kill(first);
      assertArrayEquals(new float[] {11, 12, 13, 14}, floats(s.read(weights, 0, 16)));
      assertNotEquals(before, s.devices().get(0).node());
      vectorAdd(s, m, weights, ten, weights);
      assertArrayEquals(new float[] {21, 22, 23, 24}, floats(s.read(weights, 0, 16)));
      assertEquals(1, pool.gateway.sessions().get(0).replays());
      s.close();
    }
  }

  /** bump(out): out[0] = calls * scale, then calls += 1; scale is a .const variable, calls a .global one. */
  private static final String BUMP_PTX = """
      .version 9.0
      .target sm_90
      .address_size 64
      .const .align 4 .f32 scale;
      .global .align 4 .u32 calls;
      .visible .entry bump(.param .u64 bump_param_0)
      {
        .reg .b32 %r<3>;
        .reg .f32 %f<4>;
        .reg .b64 %rd<4>;
        ld.param.u64 %rd1, [bump_param_0];
        cvta.to.global.u64 %rd2, %rd1;
        mov.u64 %rd3, calls;
        atom.global.add.u32 %r1, [%rd3], 1;
        cvt.rn.f32.u32 %f1, %r1;
        ld.const.f32 %f2, [scale];
        mul.f32 %f3, %f1, %f2;
        st.global.f32 [%rd2], %f3;
        ret;
      }
      """;

  @Test
  void kernelsThatUpdateTheirModulesVariablesAreReplayedSoTheVariablesAreRight() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.addNode("node-a", 1, "V100", 32 * GIB);
      pool.addNode("node-b", 1, "V100", 32 * GIB);
      GpuSession s = pool.client().open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
      Module m = s.loadModule(BUMP_PTX.getBytes(java.nio.charset.StandardCharsets.UTF_8), "bump.ptx");
      DeviceBuffer scale = s.global(m, "scale");
      s.write(scale, 0, new float[] {2f});
      DeviceBuffer out = s.alloc(4);
      byte[] params = new byte[8];
      for (int i = 0; i < 3; i++) {
        s.launchRaw(m, "bump", Dim3.of(1), Dim3.of(1), 0, params,
            List.of(new PointerSlot(0, out, 0, KernelArg.Access.READ_WRITE)));
        s.synchronize();
      }
      assertArrayEquals(new float[] {4f}, floats(s.read(out, 0, 4)));
      DeviceBuffer calls = s.global(m, "calls");
      assertEquals(3, ByteBuffer.wrap(s.read(calls, 0, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt());
      String before = s.devices().get(0).node();

      pool.kill(pool.nodes.stream().filter(n -> n.node().options().nodeId().equals(before)).findFirst()
          .orElseThrow());
      assertEquals(3, ByteBuffer.wrap(s.read(calls, 0, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt(),
          "the launches ran again on the new node");
      assertNotEquals(before, s.devices().get(0).node());
      s.launchRaw(m, "bump", Dim3.of(1), Dim3.of(1), 0, params,
          List.of(new PointerSlot(0, out, 0, KernelArg.Access.READ_WRITE)));
      assertArrayEquals(new float[] {6f}, floats(s.read(out, 0, 4)));
      s.close();
    }
  }
}
