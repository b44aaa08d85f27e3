package io.spillway.node.driver;

import io.spillway.node.driver.DriverException.Kind;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import io.spillway.ptx.PtxException;
import io.spillway.ptx.PtxFunction;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.PtxVariable;
import io.spillway.ptx.exec.Decoder;
import io.spillway.ptx.exec.Executor;
import io.spillway.ptx.exec.Kernel;
import io.spillway.ptx.exec.KernelFault;
import io.spillway.ptx.parse.PtxParser;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * A {@link GpuDriver} for machines without a GPU: devices are emulated in host memory and kernels are
 * PTX run by the executor of {@code spillway-ptx} ({@link io.spillway.ptx.exec.Executor}): any kernel
 * whose instructions the executor supports runs, the kernel library's included.
 *
 * <p>What it guarantees, as the JCuda driver does on a real card:
 * <ul>
 *   <li>Memory: the allocations of all contexts on a device never add up to more than its
 *       {@link GpuDevice#memoryBytes()} ({@code OUT_OF_MEMORY} otherwise). Each allocation is a direct
 *       buffer, so one is capped at 2 GiB ({@code Integer.MAX_VALUE} bytes), and the JVM's direct memory
 *       limit applies on top of the device's size. A module's {@code .global} and {@code .const}
 *       variables are allocations of the context that loaded it.
 *   <li>Addresses: synthetic, unique per device and never reused, 256-byte aligned, with a gap after
 *       every allocation; an address means something only in the context that allocated it. They lie
 *       above the executor's shared and local windows.
 *   <li>Kernels reach only their context's allocations: an access not wholly inside one of them, or
 *       misaligned, is a {@code KERNEL_FAULT} and never touches another allocation. After a fault the
 *       context is poisoned (every later call fails {@code KERNEL_FAULT}, as CUDA's sticky errors do);
 *       other contexts are unaffected. A launch that runs past its instruction budget faults the same
 *       way, so a kernel that never ends cannot hold the card.
 *   <li>Modules: PTX text only. Loading parses and decodes every kernel; an instruction the executor
 *       does not implement fails the load ({@code UNIMPLEMENTED}, naming the instruction, the PTX line
 *       and the kernel), never the launch.
 * </ul>
 *
 * <p>Launches complete before {@link DriverContext#launch} returns, so faults surface at the launch
 * itself rather than at the next synchronizing call. A launch's blocks run in parallel on the driver's
 * worker threads (at most one per core, shared by all contexts) and the launching thread. Threading:
 * the driver and its contexts are thread-safe; a running kernel holds its context's lock.
 */
public final class HostGpuDriver implements GpuDriver {

  /** Spacing of the devices' address ranges: 256 TiB each, so addresses never need reuse. */
  private static final int DEVICE_ADDRESS_SHIFT = 48;
  private static final long ALIGNMENT = 256;
  private static final int MAX_BLOCK_THREADS = 1024;
  /** Largest PTX image accepted: far above any real module, low enough to bound parse memory. */
  static final int MAX_MODULE_BYTES = 64 << 20;
  /** Shared memory a block may use, static and dynamic together (an H100's per-block maximum). */
  private static final int MAX_SHARED_BYTES = 227 * 1024;
  /**
   * Default per-launch budget in warp-instructions: minutes of work for the executor, far beyond any
   * kernel of the library at any shape the node accepts, but finite.
   */
  public static final long DEFAULT_INSTRUCTION_BUDGET = 1L << 36;

  private static final java.util.concurrent.atomic.AtomicInteger WORKER_IDS =
      new java.util.concurrent.atomic.AtomicInteger();

  private final List<GpuDevice> devices;
  private final List<DeviceMemory> memories;
  private final Set<HostContext> open = new LinkedHashSet<>();
  private final long instructionBudget;
  private final java.util.concurrent.ExecutorService workers;
  private final Executor executor;
  private boolean closed;
  /** What each new context reports taking itself (see {@link #withContextBytes}); 0 by default. */
  private volatile long contextBytes;

  /**
   * Presents {@code devices}; each one's {@link GpuDevice#index()} must equal its position in the list,
   * and its memory must be positive. Launches get {@link #DEFAULT_INSTRUCTION_BUDGET}.
   */
  public HostGpuDriver(List<GpuDevice> devices) {
    this(devices, DEFAULT_INSTRUCTION_BUDGET);
  }

  /**
   * As {@link #HostGpuDriver(List)}, with each launch allowed at most {@code instructionBudget}
   * warp-instructions (a warp executing one instruction counts once, whatever its active lanes).
   */
  public HostGpuDriver(List<GpuDevice> devices, long instructionBudget) {
    if (instructionBudget < 1) {
      throw new IllegalArgumentException("instruction budget must be >= 1, got " + instructionBudget);
    }
    this.instructionBudget = instructionBudget;
    int cores = Runtime.getRuntime().availableProcessors();
    java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(
        Math.max(1, cores - 1), Math.max(1, cores - 1), 30, java.util.concurrent.TimeUnit.SECONDS,
        new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "host-gpu-worker-" + WORKER_IDS.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    this.workers = pool;
    this.executor = new Executor(workers, cores);
    if (devices.isEmpty()) {
      throw new IllegalArgumentException("host driver needs at least one device");
    }
    List<DeviceMemory> memories = new ArrayList<>();
    for (int i = 0; i < devices.size(); i++) {
      GpuDevice d = devices.get(i);
      if (d.index() != i) {
        throw new IllegalArgumentException("device at position " + i + " has index " + d.index());
      }
      if (d.memoryBytes() <= 0) {
        throw new IllegalArgumentException("device " + i + " has memoryBytes " + d.memoryBytes()
            + ", must be > 0");
      }
      memories.add(new DeviceMemory(d));
    }
    this.devices = List.copyOf(devices);
    this.memories = List.copyOf(memories);
  }

  /**
   * {@code count} identical devices labelled {@code model}, each with {@code memoryBytes} of memory,
   * compute capability {@code "host"} and a random UUID (so that several host drivers in one JVM
   * present distinct cards).
   */
  public static HostGpuDriver withCards(int count, String model, long memoryBytes) {
    return withCards(count, model, memoryBytes, DEFAULT_INSTRUCTION_BUDGET);
  }

  /** As {@link #withCards(int, String, long)}, with a per-launch instruction budget. */
  public static HostGpuDriver withCards(int count, String model, long memoryBytes,
      long instructionBudget) {
    if (count < 1) {
      throw new IllegalArgumentException("card count must be >= 1, got " + count);
    }
    List<GpuDevice> devices = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      devices.add(new GpuDevice(i, "HOST-" + UUID.randomUUID(), model, memoryBytes, "host"));
    }
    return new HostGpuDriver(devices, instructionBudget);
  }

  /**
   * Makes each context created from now on report {@code bytes} of device memory of its own, as a CUDA
   * context's reservations would, so that the node's charging of it can be tested without a GPU.
   */
  public HostGpuDriver withContextBytes(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("context bytes must be >= 0, got " + bytes);
    }
    contextBytes = bytes;
    return this;
  }

  @Override
  public String name() {
    return "host";
  }

  @Override
  public List<GpuDevice> devices() {
    return devices;
  }

  @Override
  public synchronized DriverContext createContext(int deviceIndex) throws DriverException {
    if (closed) {
      throw new DriverException(Kind.DEVICE, "createContext on device " + deviceIndex
          + ": host driver is closed");
    }
    if (deviceIndex < 0 || deviceIndex >= devices.size()) {
      throw new DriverException(Kind.INVALID, "createContext: no device " + deviceIndex + " (host driver has "
          + devices.size() + ")");
    }
    HostContext ctx = new HostContext(memories.get(deviceIndex), contextBytes);
    open.add(ctx);
    return ctx;
  }

  /** Bytes allocated on device {@code deviceIndex} by all its contexts; for tests and diagnostics. */
  long usedBytes(int deviceIndex) {
    return memories.get(deviceIndex).used();
  }

  /** Closes every context still open; later {@link #createContext} calls fail. */
  @Override
  public void close() {
    List<HostContext> toClose;
    synchronized (this) {
      closed = true;
      toClose = new ArrayList<>(open);
    }
    toClose.forEach(HostContext::close);
    workers.shutdown();
  }

  private synchronized void closed(HostContext ctx) {
    open.remove(ctx);
  }

  /** One device's accounting and address space, shared by its contexts. */
  private static final class DeviceMemory {
    private final GpuDevice device;
    private long used;
    private long nextAddress;

    DeviceMemory(GpuDevice device) {
      this.device = device;
      this.nextAddress = (long) (device.index() + 1) << DEVICE_ADDRESS_SHIFT;
    }

    /** Accounts {@code bytes} and returns the address they will live at. */
    synchronized long reserve(long bytes) throws DriverException {
      long free = device.memoryBytes() - used;
      if (bytes > free) {
        throw new DriverException(Kind.OUT_OF_MEMORY, "allocate of " + bytes + " bytes on device "
            + device.index() + " (" + device.model() + "): only " + free + " of " + device.memoryBytes()
            + " bytes free");
      }
      used += bytes;
      long address = nextAddress;
      nextAddress += (bytes + 2 * ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
      return address;
    }

    synchronized void release(long bytes) {
      used -= bytes;
    }

    synchronized long used() {
      return used;
    }
  }

  private record HostModule(String name, Map<String, KernelSignature> signatures,
      Map<String, Kernel> kernels, Map<String, ModuleGlobal> globals, HostContext owner)
      implements LoadedModule {}

  /** Every public method holds the context's lock; state changes only under it. */
  private final class HostContext implements DriverContext {
    private final DeviceMemory device;
    private final HostMemory memory = new HostMemory();
    /** Addresses of the loaded modules' .global/.const variables: allocations free() refuses. */
    private final Set<Long> moduleVariables = new java.util.HashSet<>();
    private String poisonedBy;
    /** Stops this context's launches once {@link #abort} was called. */
    private final io.spillway.ptx.exec.Executor.Stop stop = new io.spillway.ptx.exec.Executor.Stop();
    private boolean closed;
    private final long overheadBytes;

    HostContext(DeviceMemory device, long overheadBytes) {
      this.device = device;
      this.overheadBytes = overheadBytes;
    }

    @Override
    public long overheadBytes() {
      return overheadBytes;
    }

    @Override
    public GpuDevice device() {
      return device.device;
    }

    @Override
    public synchronized long allocate(long bytes) throws DriverException {
      checkUsable("allocate");
      if (bytes <= 0) {
        throw new DriverException(Kind.INVALID, "allocate of " + bytes + " bytes: size must be > 0");
      }
      if (bytes > Integer.MAX_VALUE) {
        throw new DriverException(Kind.OUT_OF_MEMORY, "allocate of " + bytes
            + " bytes: the host driver caps single allocations at 2 GiB (" + Integer.MAX_VALUE
            + " bytes)");
      }
      long address = device.reserve(bytes);
      try {
        memory.add(address, (int) bytes);
      } catch (DriverException e) {
        device.release(bytes);
        throw e;
      }
      return address;
    }

    @Override
    public synchronized void free(long address) throws DriverException {
      checkUsable("free");
      if (moduleVariables.contains(address)) {
        throw new DriverException(Kind.INVALID, String.format(
            "free of 0x%x: that is a module variable, which lives as long as its context", address));
      }
      long bytes = memory.remove(address);
      if (bytes < 0) {
        throw new DriverException(Kind.INVALID, String.format(
            "free of 0x%x: no allocation of this context starts there", address));
      }
      device.release(bytes);
    }

    @Override
    public synchronized void write(long address, ByteBuffer src) throws DriverException {
      checkUsable("write");
      memory.range(address, src.remaining(), "write").put(src);
    }

    @Override
    public synchronized void read(long address, ByteBuffer dst) throws DriverException {
      checkUsable("read");
      dst.put(memory.range(address, dst.remaining(), "read"));
    }

    @Override
    public synchronized void fill(long address, long bytes, byte value) throws DriverException {
      checkUsable("fill");
      ByteBuffer target = memory.range(address, bytes, "fill");
      byte[] chunk = new byte[(int) Math.min(target.remaining(), 64 * 1024)];
      java.util.Arrays.fill(chunk, value);
      while (target.hasRemaining()) {
        target.put(chunk, 0, Math.min(chunk.length, target.remaining()));
      }
    }

    @Override
    public synchronized void copy(long dstAddress, long srcAddress, long bytes) throws DriverException {
      checkUsable("copy");
      ByteBuffer dst = memory.range(dstAddress, bytes, "copy destination");
      ByteBuffer src = memory.range(srcAddress, bytes, "copy source");
      if (dstAddress < srcAddress + bytes && srcAddress < dstAddress + bytes) {
        byte[] staged = new byte[(int) bytes];
        src.get(staged);
        dst.put(staged);
      } else {
        dst.put(src);
      }
    }

    @Override
    public synchronized void memset(long address, int width, int value, long count)
        throws DriverException {
      checkUsable("memset");
      LaunchChecks.memset(address, width, count);
      ByteBuffer target = memory.range(address, count * width, "memset");
      if (width == 1) {
        byte[] chunk = new byte[(int) Math.min(target.remaining(), 64 * 1024)];
        java.util.Arrays.fill(chunk, (byte) value);
        while (target.hasRemaining()) {
          target.put(chunk, 0, Math.min(chunk.length, target.remaining()));
        }
      } else if (width == 2) {
        while (target.hasRemaining()) {
          target.putShort((short) value);
        }
      } else {
        while (target.hasRemaining()) {
          target.putInt(value);
        }
      }
    }

    @Override
    public synchronized LoadedModule loadModule(byte[] image, String name) throws DriverException {
      checkUsable("loadModule");
      int end = image.length;
      while (end > 0 && image[end - 1] == 0) {
        end--;
      }
      if (end >= 4 && image[0] == 0x7f && image[1] == 'E' && image[2] == 'L' && image[3] == 'F') {
        throw new DriverException(Kind.INVALID, "loadModule " + name + ": image is an ELF binary"
            + " (cubin); the host driver runs PTX only");
      }
      if (end > MAX_MODULE_BYTES) {
        throw new DriverException(Kind.INVALID, "loadModule " + name + ": image of " + image.length
            + " bytes exceeds the host driver's limit of " + MAX_MODULE_BYTES + " bytes of PTX");
      }
      for (int i = 0; i < end; i++) {
        if (image[i] == 0 || image[i] < 0) {
          throw new DriverException(Kind.INVALID, "loadModule " + name + ": image is not PTX text"
              + " (byte " + i + " is 0x" + Integer.toHexString(image[i] & 0xff)
              + "); the host driver runs PTX only, not cubin");
        }
      }
      String text = new String(image, 0, end, StandardCharsets.US_ASCII);
      PtxModule parsed;
      try {
        parsed = PtxParser.parse(text);
      } catch (PtxException e) {
        throw new DriverException(Kind.INVALID, "loadModule " + name + ": " + e.getMessage(), e);
      }
      if (parsed.entries().isEmpty()) {
        throw new DriverException(Kind.INVALID, "loadModule " + name + ": image of " + image.length
            + " bytes is not PTX with kernels (no .entry directive)");
      }
      Map<String, ModuleGlobal> globals = new LinkedHashMap<>();
      Map<String, Kernel> kernels;
      try {
        for (PtxVariable v : parsed.variables()) {
          if (v.space() == PtxVariable.Space.SHARED) {
            continue;
          }
          if (v.external() || v.count() < 0) {
            throw new DriverException(Kind.INVALID, "loadModule " + name + ": PTX line " + v.line()
                + ": variable " + v.name() + " is declared .extern or unsized; the host driver links"
                + " no other modules");
          }
          long bytes = Math.max(1, v.size());
          long address = allocate(bytes);
          globals.put(v.name(), new ModuleGlobal(v.name(), address, v.size()));
          if (v.init() != null) {
            memory.range(address, v.init().length, "initialize " + v.name()).put(v.init());
          }
        }
        kernels = Decoder.decodeAll(parsed, v -> globals.get(v.name()).address());
      } catch (PtxException e) {
        releaseAll(globals);
        throw new DriverException(e.unsupported() ? Kind.UNIMPLEMENTED : Kind.INVALID,
            "loadModule " + name + ": " + e.getMessage(), e);
      } catch (DriverException | RuntimeException e) {
        releaseAll(globals);
        throw e;
      }
      for (ModuleGlobal g : globals.values()) {
        moduleVariables.add(g.address());
      }
      Map<String, KernelSignature> signatures = new LinkedHashMap<>();
      for (PtxFunction f : parsed.entries()) {
        signatures.put(f.name(), PtxLayouts.signature(f));
      }
      return new HostModule(name, java.util.Collections.unmodifiableMap(signatures), kernels,
          java.util.Collections.unmodifiableMap(globals), this);
    }

    private void releaseAll(Map<String, ModuleGlobal> globals) {
      for (ModuleGlobal g : globals.values()) {
        device.release(memory.remove(g.address()));
      }
    }

    @Override
    public synchronized void launch(LoadedModule module, String function, Dim3 grid, Dim3 block,
        int sharedMemoryBytes, List<KernelArgument> args) throws DriverException {
      checkUsable("launch of " + function);
      HostModule m = owned(module, function);
      KernelSignature sig = LaunchChecks.declared(m, function);
      LaunchChecks.arguments(m, sig, args);
      run(m, sig, function, grid, block, sharedMemoryBytes, LaunchChecks.pack(sig, args));
    }

    @Override
    public synchronized void launchRaw(LoadedModule module, String function, Dim3 grid, Dim3 block,
        int sharedMemoryBytes, ByteBuffer params) throws DriverException {
      checkUsable("launch of " + function);
      HostModule m = owned(module, function);
      KernelSignature sig = LaunchChecks.declared(m, function);
      LaunchChecks.rawParameters(m, sig, params);
      run(m, sig, function, grid, block, sharedMemoryBytes, params.duplicate());
    }

    private HostModule owned(LoadedModule module, String function) throws DriverException {
      if (!(module instanceof HostModule m) || m.owner() != this) {
        throw new DriverException(Kind.INVALID, "launch of " + function + ": module " + module.name()
            + " was not loaded in this context");
      }
      return m;
    }

    private void run(HostModule m, KernelSignature sig, String function, Dim3 grid, Dim3 block,
        int sharedMemoryBytes, ByteBuffer params) throws DriverException {
      Kernel kernel = m.kernels().get(function);
      if (kernel == null) {
        throw new DriverException(Kind.INVALID, "launch of " + m.name() + "/" + function
            + ": the kernel is declared without a body");
      }
      long sharedTotal = (long) kernel.staticSharedBytes() + Math.max(0, sharedMemoryBytes);
      if (block.volume() > MAX_BLOCK_THREADS || sharedMemoryBytes < 0 || sharedTotal > MAX_SHARED_BYTES) {
        throw new DriverException(Kind.INVALID, "launch of " + m.name() + "/" + function
            + ": block " + block.x() + "x" + block.y() + "x" + block.z() + " with " + sharedMemoryBytes
            + " bytes dynamic shared memory (at most " + MAX_BLOCK_THREADS + " threads, and at most "
            + MAX_SHARED_BYTES + " bytes shared memory with the kernel's " + kernel.staticSharedBytes()
            + " static bytes)");
      }
      if (grid.y() > 65535 || grid.z() > 65535 || block.z() > 64) {
        throw new DriverException(Kind.INVALID, "launch of " + m.name() + "/" + function + ": grid "
            + grid.x() + "x" + grid.y() + "x" + grid.z() + ", block z " + block.z()
            + " (grid y and z at most 65535, block z at most 64)");
      }
      try {
        executor.launch(kernel, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
            sharedMemoryBytes, params.order(java.nio.ByteOrder.LITTLE_ENDIAN), memory,
            instructionBudget, stop);
      } catch (KernelFault e) {
        poisonedBy = function;
        throw new DriverException(Kind.KERNEL_FAULT, e.getMessage());
      }
    }

    @Override
    public synchronized void synchronize() throws DriverException {
      checkUsable("synchronize");
    }

    /** Not synchronized: the running kernel holds the monitor; its blocks see the stop at their next check. */
    @Override
    public void abort(String why) {
      stop.stop(why);
    }

    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        device.release(memory.clear());
      }
      closed(this);
    }

    private void checkUsable(String op) throws DriverException {
      if (closed) {
        throw new DriverException(Kind.INVALID, op + ": context on device " + device.device.index()
            + " is closed");
      }
      if (poisonedBy != null) {
        throw new DriverException(Kind.KERNEL_FAULT, op + ": context poisoned by earlier fault in kernel "
            + poisonedBy);
      }
      if (stop.reason() != null) {
        throw new DriverException(Kind.KERNEL_FAULT, op + ": context aborted: " + stop.reason());
      }
    }
  }
}
