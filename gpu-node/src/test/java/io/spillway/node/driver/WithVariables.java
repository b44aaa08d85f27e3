package io.spillway.node.driver;

import java.nio.ByteBuffer;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A driver context that gives every module it loads one 16-byte variable "weights" (allocated on the
 * wrapped context), so that a module without variables of its own (the kernel library's) can be pointed
 * at one; everything else is the wrapped context's. For tests of module variables across sessions and
 * failover.
 */
public final class WithVariables implements DriverContext {
  private final DriverContext host;
  private final Map<LoadedModule, LoadedModule> inner = new IdentityHashMap<>();

  public WithVariables(DriverContext host) {
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

  @Override
  public void abort(String why) {
    host.abort(why);
  }

  /** A host driver with {@code cards} cards whose contexts are wrapped in {@link WithVariables}. */
  public static GpuDriver hostDriver(int cards, String model, long memoryBytes) {
    HostGpuDriver host = HostGpuDriver.withCards(cards, model, memoryBytes);
    return new GpuDriver() {
      @Override
      public String name() {
        return host.name();
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
    };
  }
}
