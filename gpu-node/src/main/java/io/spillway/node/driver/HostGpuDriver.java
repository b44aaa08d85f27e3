package io.spillway.node.driver;

import io.spillway.node.driver.DriverException.Kind;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * A {@link GpuDriver} for machines without a GPU: devices are emulated in host memory and the kernels
 * of the project's library ({@code spillway-kernels}) run in Java on the calling thread.
 *
 * <p>What it guarantees, as the JCuda driver does on a real card:
 * <ul>
 *   <li>Memory: the allocations of all contexts on a device never add up to more than its
 *       {@link GpuDevice#memoryBytes()} ({@code OUT_OF_MEMORY} otherwise). Each allocation is a direct
 *       buffer, so one is capped at 2 GiB ({@code Integer.MAX_VALUE} bytes), and the JVM's direct memory
 *       limit applies on top of the device's size.
 *   <li>Addresses: synthetic, unique per device and never reused, 256-byte aligned, with a gap after
 *       every allocation; an address means something only in the context that allocated it.
 *   <li>Kernels see bounds-limited views: an access past the end of the allocation a pointer points
 *       into is a {@code KERNEL_FAULT} and never touches another allocation. After a fault the context is
 *       poisoned (every later call fails {@code KERNEL_FAULT}, as CUDA's sticky errors do); other
 *       contexts are unaffected.
 *   <li>Modules: PTX text only. Functions are matched to Java kernels by name and parameter types;
 *       a declared function without one fails {@code UNIMPLEMENTED} at launch.
 * </ul>
 *
 * <p>Launches complete before {@link DriverContext#launch} returns, so faults surface at the launch
 * itself rather than at the next synchronizing call. Threading: the driver and its contexts are
 * thread-safe; a running kernel holds its context's lock.
 */
public final class HostGpuDriver implements GpuDriver {

  /** Spacing of the devices' address ranges: 256 TiB each, so addresses never need reuse. */
  private static final int DEVICE_ADDRESS_SHIFT = 48;
  private static final long ALIGNMENT = 256;
  private static final int MAX_BLOCK_THREADS = 1024;

  private final List<GpuDevice> devices;
  private final List<DeviceMemory> memories;
  private final Set<HostContext> open = new LinkedHashSet<>();
  private boolean closed;

  /**
   * Presents {@code devices}; each one's {@link GpuDevice#index()} must equal its position in the list,
   * and its memory must be positive.
   */
  public HostGpuDriver(List<GpuDevice> devices) {
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
    if (count < 1) {
      throw new IllegalArgumentException("card count must be >= 1, got " + count);
    }
    List<GpuDevice> devices = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      devices.add(new GpuDevice(i, "HOST-" + UUID.randomUUID(), model, memoryBytes, "host"));
    }
    return new HostGpuDriver(devices);
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
    HostContext ctx = new HostContext(memories.get(deviceIndex));
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

  private record HostModule(String name, Map<String, KernelSignature> signatures, HostContext owner)
      implements LoadedModule {}

  /** Every public method holds the context's lock; state changes only under it. */
  private final class HostContext implements DriverContext {
    private final DeviceMemory device;
    private final HostMemory memory = new HostMemory();
    private String poisonedBy;
    private boolean closed;

    HostContext(DeviceMemory device) {
      this.device = device;
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
      for (int i = 0; i < end; i++) {
        if (image[i] == 0 || image[i] < 0) {
          throw new DriverException(Kind.INVALID, "loadModule " + name + ": image is not PTX text"
              + " (byte " + i + " is 0x" + Integer.toHexString(image[i] & 0xff)
              + "); the host driver runs PTX only, not cubin");
        }
      }
      String text = new String(image, 0, end, StandardCharsets.US_ASCII);
      Map<String, KernelSignature> signatures;
      try {
        signatures = PtxSignatures.parse(text);
      } catch (IllegalArgumentException e) {
        throw new DriverException(Kind.INVALID, "loadModule " + name + ": " + e.getMessage(), e);
      }
      if (!text.contains(".version") || signatures.isEmpty()) {
        throw new DriverException(Kind.INVALID, "loadModule " + name + ": image of " + image.length
            + " bytes is not PTX with kernels (" + (text.contains(".version") ? "no .entry directive"
            : "no .version directive") + ")");
      }
      return new HostModule(name, signatures, this);
    }

    @Override
    public synchronized void launch(LoadedModule module, String function, Dim3 grid, Dim3 block,
        int sharedMemoryBytes, List<KernelArgument> args) throws DriverException {
      checkUsable("launch of " + function);
      if (!(module instanceof HostModule m) || m.owner() != this) {
        throw new DriverException(Kind.INVALID, "launch of " + function + ": module " + module.name()
            + " was not loaded in this context");
      }
      KernelSignature sig = LaunchChecks.declared(module, function);
      LaunchChecks.arguments(module, sig, args);
      if (block.volume() > MAX_BLOCK_THREADS || sharedMemoryBytes < 0) {
        throw new DriverException(Kind.INVALID, "launch of " + module.name() + "/" + function
            + ": block " + block.x() + "x" + block.y() + "x" + block.z() + " with " + sharedMemoryBytes
            + " bytes shared memory (at most " + MAX_BLOCK_THREADS + " threads, shared memory >= 0)");
      }
      HostKernels.Entry kernel = HostKernels.find(function);
      if (kernel == null || !kernel.params().equals(sig.params())) {
        throw new DriverException(Kind.UNIMPLEMENTED, "kernel " + function + sig.params()
            + " of module " + module.name() + " has no host implementation (host driver implements: "
            + HostKernels.describe() + ")");
      }
      try {
        kernel.kernel().run(new HostKernel.LaunchShape(grid, block, sharedMemoryBytes), args, memory);
      } catch (HostMemory.Fault e) {
        poisonedBy = function;
        throw new DriverException(Kind.KERNEL_FAULT, "kernel " + function + ": " + e.getMessage());
      }
    }

    @Override
    public synchronized void launchRaw(LoadedModule module, String function, Dim3 grid, Dim3 block,
        int sharedMemoryBytes, ByteBuffer params) throws DriverException {
      checkUsable("launch of " + function);
      KernelSignature sig = LaunchChecks.declared(module, function);
      LaunchChecks.rawParameters(module, sig, params);
      ByteBuffer raw = params.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
      int base = raw.position();
      List<KernelArgument> args = new ArrayList<>();
      for (KernelSignature.Param p : sig.layout()) {
        int at = base + p.offset();
        args.add(switch (p.type()) {
          case B64 -> new KernelArgument.Pointer(raw.getLong(at));
          case B32 -> new KernelArgument.I32(raw.getInt(at));
          case F32 -> new KernelArgument.F32(raw.getFloat(at));
          case F64 -> new KernelArgument.F64(raw.getDouble(at));
          case BYTES, OTHER -> throw new DriverException(Kind.UNIMPLEMENTED, "kernel " + function
              + " of module " + module.name() + " has parameter " + p + " the host driver cannot pass");
        });
      }
      launch(module, function, grid, block, sharedMemoryBytes, args);
    }

    @Override
    public synchronized void synchronize() throws DriverException {
      checkUsable("synchronize");
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
    }
  }
}
