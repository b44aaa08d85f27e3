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
import io.spillway.node.driver.DriverContext;
import io.spillway.node.driver.DriverException;
import io.spillway.node.driver.GpuDevice;
import io.spillway.node.driver.GpuDriver;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.driver.KernelArgument;
import io.spillway.node.driver.KernelSignature;
import io.spillway.node.driver.LoadedModule;
import io.spillway.node.driver.ModuleGlobal;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A session whose state lives in a module variable (bound with get_global, written from the host and by
 * a raw launch) is rebuilt on another node with the variable's value. The host driver reports no module
 * variables yet, so the nodes here run it behind a driver that gives every module a 16-byte variable
 * "weights" in the context's own memory.
 */
class FailoverModuleVariablesTest {

  private static final long GIB = 1L << 30;

  /** The host driver, with one 16-byte variable "weights" in every module. */
  private static final class VariablesDriver implements GpuDriver {
    final HostGpuDriver host = HostGpuDriver.withCards(1, "V100", 32 * GIB);

    @Override
    public String name() {
      return "host";
    }

    @Override
    public List<GpuDevice> devices() {
      return host.devices();
    }

    @Override
    public DriverContext createContext(int deviceIndex) throws DriverException {
      return new WithVariables(host.createContext(deviceIndex));
    }

    @Override
    public void close() {
      host.close();
    }
  }

  private static final class WithVariables implements DriverContext {
    final DriverContext host;
    final Map<LoadedModule, LoadedModule> inner = new IdentityHashMap<>();

    WithVariables(DriverContext host) {
      this.host = host;
    }

    @Override
    public LoadedModule loadModule(byte[] image, String name) throws DriverException {
      LoadedModule m = host.loadModule(image, name);
      long address = host.allocate(16);
      LoadedModule outer = new LoadedModule() {
        @Override
        public String name() {
          return m.name();
        }

        @Override
        public Map<String, KernelSignature> signatures() {
          return m.signatures();
        }

        @Override
        public Map<String, ModuleGlobal> globals() {
          return Map.of("weights", new ModuleGlobal("weights", address, 16));
        }
      };
      inner.put(outer, m);
      return outer;
    }

    @Override
    public void launchRaw(LoadedModule module, String function, DriverContext.Dim3 grid, DriverContext.Dim3 block,
        int sharedMemoryBytes, ByteBuffer params) throws DriverException {
      host.launchRaw(inner.get(module), function, grid, block, sharedMemoryBytes, params);
    }

    @Override
    public void launch(LoadedModule module, String function, DriverContext.Dim3 grid, DriverContext.Dim3 block,
        int sharedMemoryBytes, List<KernelArgument> args) throws DriverException {
      host.launch(inner.get(module), function, grid, block, sharedMemoryBytes, args);
    }

    @Override
    public GpuDevice device() {
      return host.device();
    }

    @Override
    public long allocate(long bytes) throws DriverException {
      return host.allocate(bytes);
    }

    @Override
    public void free(long address) throws DriverException {
      host.free(address);
    }

    @Override
    public void write(long address, ByteBuffer src) throws DriverException {
      host.write(address, src);
    }

    @Override
    public void read(long address, ByteBuffer dst) throws DriverException {
      host.read(address, dst);
    }

    @Override
    public void fill(long address, long bytes, byte value) throws DriverException {
      host.fill(address, bytes, value);
    }

    @Override
    public void copy(long dstAddress, long srcAddress, long bytes) throws DriverException {
      host.copy(dstAddress, srcAddress, bytes);
    }

    @Override
    public void memset(long address, int width, int value, long count) throws DriverException {
      host.memset(address, width, value, count);
    }

    @Override
    public void synchronize() throws DriverException {
      host.synchronize();
    }

    @Override
    public void close() {
      host.close();
    }
  }

  private static void addNode(TestPool pool, String id) throws Exception {
    GpuNode node = new GpuNode(new NodeOptions(id, pool.gateway.config().pool(), 0,
        NodeOptions.DEFAULT_CHUNK_BYTES, NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), new VariablesDriver());
    GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    pool.nodes.add(server);
    pool.registrars.add(new GatewayRegistrar(node, pool.gateway.address(), "127.0.0.1:" + server.port(), 200)
        .start());
    TestPool.await(() -> pool.gateway.registry().node(id).map(n -> n.isUp()).orElse(false), id + " registered");
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
}
