package io.spillway.node.driver;

import static jcuda.driver.CUresult.CUDA_SUCCESS;

import io.spillway.node.driver.DriverException.Kind;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import io.spillway.ptx.PtxException;
import io.spillway.ptx.PtxFunction;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.PtxVariable;
import io.spillway.ptx.parse.PtxParser;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUuuid;
import jcuda.driver.JCudaDriver;

/**
 * A {@link GpuDriver} on real NVIDIA GPUs through the CUDA driver API (JCuda 12.0.0).
 *
 * <p>Each {@link DriverContext} is its own {@code CUcontext}, so a faulting kernel poisons only that
 * context (CUDA's errors are sticky per context). Every context method first makes its
 * {@code CUcontext} current on the calling thread, because a session's calls may move between threads
 * over time; the methods are synchronized, so one call runs at a time per context.
 *
 * <p>Ordering: launches are asynchronous on the context's legacy default stream; copies and fills use
 * the synchronous driver calls on that same stream, so they run after every earlier launch, and a
 * kernel fault surfaces at the next call (as {@code KERNEL_FAULT}) rather than at the launch.
 *
 * <p>Transfers go straight from the caller's buffer: direct buffers at their position, heap buffers
 * through their array. Neither is registered with {@code cuMemHostRegister}; on the H200 machine such
 * pageable copies measured 7-12 GB/s against 55 GB/s from registered or pinned memory, so callers that
 * move bulk data should keep long-lived direct buffers for a later registration to pay off.
 *
 * <p>Error mapping: {@code CUDA_ERROR_OUT_OF_MEMORY} is {@code OUT_OF_MEMORY}; faults of a running
 * kernel (illegal or misaligned address, illegal instruction, launch failure, assert, timeout) are
 * {@code KERNEL_FAULT}; {@code CUDA_ERROR_INVALID_*}, {@code NOT_FOUND} and image errors are
 * {@code INVALID}; everything else is {@code DEVICE}. Messages name the CUDA call and the result.
 */
public final class JCudaGpuDriver implements GpuDriver {

  private static final System.Logger LOG = System.getLogger(JCudaGpuDriver.class.getName());

  private final List<GpuDevice> devices;
  private final List<CUdevice> cuDevices;
  private final Set<JCudaContext> open = new LinkedHashSet<>();
  /** Each device's primary context, retained on first use to read its free memory; null until then. */
  private final CUcontext[] probes;
  private boolean closed;

  /**
   * What a context is charged when its creation could not be measured (cuMemGetInfo failed, or another
   * context's allocation in between made free memory grow): the order of a context's own reservations
   * on current drivers with lazy module loading.
   */
  public static final long FALLBACK_CONTEXT_BYTES = 256L << 20;

  /**
   * Initialises CUDA and enumerates the GPUs.
   *
   * @throws DriverException DEVICE when CUDA cannot be initialised or reports no GPU
   * @throws LinkageError when the JCuda natives or {@code libcuda} cannot be loaded; check
   *     {@link #isAvailable()} first
   */
  public JCudaGpuDriver() throws DriverException {
    JCudaDriver.setExceptionsEnabled(false);
    check(JCudaDriver.cuInit(0), "cuInit");
    int[] count = new int[1];
    check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
    if (count[0] == 0) {
      throw new DriverException(Kind.DEVICE, "cuDeviceGetCount: no CUDA device");
    }
    List<GpuDevice> devices = new ArrayList<>();
    List<CUdevice> cuDevices = new ArrayList<>();
    for (int i = 0; i < count[0]; i++) {
      CUdevice dev = new CUdevice();
      check(JCudaDriver.cuDeviceGet(dev, i), "cuDeviceGet(" + i + ")");
      byte[] name = new byte[256];
      check(JCudaDriver.cuDeviceGetName(name, name.length, dev), "cuDeviceGetName(" + i + ")");
      String fullName = cString(name);
      long[] memory = new long[1];
      check(JCudaDriver.cuDeviceTotalMem(memory, dev), "cuDeviceTotalMem(" + i + ")");
      int[] major = new int[1];
      int[] minor = new int[1];
      check(JCudaDriver.cuDeviceGetAttribute(major,
          CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "cuDeviceGetAttribute");
      check(JCudaDriver.cuDeviceGetAttribute(minor,
          CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "cuDeviceGetAttribute");
      devices.add(new GpuDevice(i, uuid(dev, fullName, i), modelLabel(fullName), memory[0],
          major[0] + "." + minor[0]));
      cuDevices.add(dev);
    }
    this.devices = List.copyOf(devices);
    this.cuDevices = List.copyOf(cuDevices);
    this.probes = new CUcontext[devices.size()];
  }

  /**
   * Free memory on the device whose context is current, or -1 when the driver does not say. Caller holds
   * the driver's monitor.
   */
  private static long freeOnCurrent() {
    long[] free = new long[1];
    long[] total = new long[1];
    return JCudaDriver.cuMemGetInfo(free, total) == CUDA_SUCCESS ? free[0] : -1;
  }

  /** Free memory on device {@code i}, read in its primary context; -1 when unknown. Caller holds the monitor. */
  private long freeOnDevice(int i) {
    if (probes[i] == null) {
      CUcontext primary = new CUcontext();
      if (JCudaDriver.cuDevicePrimaryCtxRetain(primary, cuDevices.get(i)) != CUDA_SUCCESS) {
        return -1;
      }
      probes[i] = primary;
    }
    return JCudaDriver.cuCtxSetCurrent(probes[i]) == CUDA_SUCCESS ? freeOnCurrent() : -1;
  }

  /**
   * Whether JCuda's natives load and {@code cuInit} finds at least one GPU. Never throws: a missing
   * {@code libcuda}, missing natives, or a CUDA error all give {@code false}. Probed once per JVM.
   */
  public static boolean isAvailable() {
    return Probe.UNAVAILABLE_REASON == null;
  }

  /** Why {@link #isAvailable()} is false, for logs; null when it is true. */
  static String unavailableReason() {
    return Probe.UNAVAILABLE_REASON;
  }

  /** Holder: the probe runs on first use, once. */
  private static final class Probe {
    static final String UNAVAILABLE_REASON = probe();

    private static String probe() {
      try {
        JCudaDriver.setExceptionsEnabled(false);
        int r = JCudaDriver.cuInit(0);
        if (r != CUDA_SUCCESS) {
          return "cuInit failed: " + CUresult.stringFor(r);
        }
        int[] count = new int[1];
        r = JCudaDriver.cuDeviceGetCount(count);
        if (r != CUDA_SUCCESS) {
          return "cuDeviceGetCount failed: " + CUresult.stringFor(r);
        }
        return count[0] > 0 ? null : "cuDeviceGetCount found no CUDA device";
      } catch (Throwable t) {
        // LinkageError when libcuda.so.1 or the JCuda natives are missing, CudaException from JCuda.
        return "JCuda could not load: " + summary(t);
      }
    }

    /** JCuda's load errors carry pages of nested stack traces; keep the line that says what is missing. */
    private static String summary(Throwable t) {
      String message = String.valueOf(t.getMessage());
      for (String line : message.split("\\R")) {
        if (line.contains("cannot open shared object file")) {
          return line.trim();
        }
      }
      return t.getClass().getSimpleName() + ": " + message.lines().findFirst().orElse("");
    }
  }

  /**
   * The model label placement matches on: the CUDA name without vendor and line prefixes and without
   * form-factor suffixes, for example {@code "NVIDIA H200"} to {@code "H200"},
   * {@code "Tesla V100-SXM2-16GB"} to {@code "V100"}, {@code "NVIDIA GeForce RTX 4090"} to
   * {@code "RTX 4090"}.
   */
  static String modelLabel(String cudaName) {
    List<String> words = new ArrayList<>(Arrays.asList(cudaName.trim().split("\\s+")));
    while (words.size() > 1 && Set.of("NVIDIA", "Tesla", "GeForce", "Quadro").contains(words.get(0))) {
      words.remove(0);
    }
    String first = words.get(0);
    if (words.size() > 1 && Set.of("RTX", "GTX", "TITAN", "Titan").contains(first)) {
      return first + " " + words.get(1).split("-")[0];
    }
    return first.split("-")[0];
  }

  private static String uuid(CUdevice dev, String name, int index) {
    CUuuid uuid = new CUuuid();
    int r;
    try {
      r = JCudaDriver.cuDeviceGetUuid(uuid, dev);
    } catch (LinkageError e) {
      r = CUresult.CUDA_ERROR_NOT_SUPPORTED;
    }
    if (r != CUDA_SUCCESS || uuid.bytes == null || uuid.bytes.length != 16) {
      LOG.log(System.Logger.Level.WARNING, "cuDeviceGetUuid on device {0} failed ({1}); using name+index",
          index, CUresult.stringFor(r));
      return name.replace(' ', '_') + "-" + index;
    }
    StringBuilder hex = new StringBuilder("GPU-");
    for (int i = 0; i < 16; i++) {
      if (i == 4 || i == 6 || i == 8 || i == 10) {
        hex.append('-');
      }
      hex.append(String.format("%02x", uuid.bytes[i] & 0xff));
    }
    return hex.toString();
  }

  @Override
  public String name() {
    return "jcuda";
  }

  @Override
  public List<GpuDevice> devices() {
    return devices;
  }

  @Override
  public synchronized DriverContext createContext(int deviceIndex) throws DriverException {
    if (closed) {
      throw new DriverException(Kind.DEVICE, "createContext on device " + deviceIndex
          + ": jcuda driver is closed");
    }
    if (deviceIndex < 0 || deviceIndex >= devices.size()) {
      throw new DriverException(Kind.INVALID, "createContext: no device " + deviceIndex + " (node has "
          + devices.size() + ")");
    }
    CUcontext ctx = new CUcontext();
    long before = freeOnDevice(deviceIndex);
    check(JCudaDriver.cuCtxCreate(ctx, 0, cuDevices.get(deviceIndex)),
        "cuCtxCreate on device " + deviceIndex);
    // cuCtxCreate made the new context current. Sessions allocate in their own contexts meanwhile, so
    // the difference is what the creation took give or take their allocations; a difference that is not
    // positive says nothing, and the fallback figure is charged instead.
    long after = freeOnCurrent();
    long measured = before >= 0 && after >= 0 ? before - after : -1;
    JCudaContext context = new JCudaContext(devices.get(deviceIndex), ctx,
        measured > 0 ? measured : FALLBACK_CONTEXT_BYTES);
    open.add(context);
    return context;
  }

  /** Destroys every context still open; later {@link #createContext} calls fail. */
  @Override
  public void close() {
    List<JCudaContext> toClose;
    synchronized (this) {
      closed = true;
      toClose = new ArrayList<>(open);
    }
    toClose.forEach(JCudaContext::close);
    synchronized (this) {
      for (int i = 0; i < probes.length; i++) {
        if (probes[i] != null) {
          JCudaDriver.cuDevicePrimaryCtxRelease(cuDevices.get(i));
          probes[i] = null;
        }
      }
    }
  }

  private synchronized void closed(JCudaContext ctx) {
    open.remove(ctx);
  }

  static void check(int result, String call) throws DriverException {
    if (result != CUDA_SUCCESS) {
      throw new DriverException(kindOf(result), call + " failed: " + CUresult.stringFor(result));
    }
  }

  static Kind kindOf(int result) {
    switch (result) {
      case CUresult.CUDA_ERROR_OUT_OF_MEMORY:
        return Kind.OUT_OF_MEMORY;
      case CUresult.CUDA_ERROR_ILLEGAL_ADDRESS:
      case CUresult.CUDA_ERROR_MISALIGNED_ADDRESS:
      case CUresult.CUDA_ERROR_LAUNCH_FAILED:
      case CUresult.CUDA_ERROR_ILLEGAL_INSTRUCTION:
      case CUresult.CUDA_ERROR_INVALID_PC:
      case CUresult.CUDA_ERROR_INVALID_ADDRESS_SPACE:
      case CUresult.CUDA_ERROR_HARDWARE_STACK_ERROR:
      case CUresult.CUDA_ERROR_ASSERT:
      case CUresult.CUDA_ERROR_LAUNCH_TIMEOUT:
        return Kind.KERNEL_FAULT;
      case CUresult.CUDA_ERROR_NOT_FOUND:
      case CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU:
      case CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
      case CUresult.CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES:
        return Kind.INVALID;
      default:
        return CUresult.stringFor(result).startsWith("CUDA_ERROR_INVALID_") ? Kind.INVALID : Kind.DEVICE;
    }
  }

  private static String cString(byte[] bytes) {
    int end = 0;
    while (end < bytes.length && bytes[end] != 0) {
      end++;
    }
    return new String(bytes, 0, end, StandardCharsets.US_ASCII);
  }

  /** A {@code CUdeviceptr} whose raw address can be read (JCuda keeps it protected). */
  private static final class DevicePointer extends CUdeviceptr {
    long address() {
      return getNativePointer();
    }

    DevicePointer() {
    }

    /** The same device address as {@code other} (as cuModuleGetGlobal filled it in). */
    DevicePointer(CUdeviceptr other) {
      super(other);
    }
  }

  /** {@code moduleVariable}: a module's .global/.const variable, owned by its module, never freed. */
  private record Allocation(DevicePointer pointer, long bytes, boolean moduleVariable) {}

  private record JCudaModule(String name, Map<String, KernelSignature> signatures, CUmodule module,
      Map<String, CUfunction> functions, Map<String, ModuleGlobal> globals, JCudaContext owner)
      implements LoadedModule {}

  private final class JCudaContext implements DriverContext {
    private final GpuDevice device;
    private final CUcontext context;
    /**
     * Live allocations by base address: copies need a {@code CUdeviceptr} to offset from, and a size
     * to check against, since CUDA itself would copy across into a neighbouring allocation.
     */
    private final TreeMap<Long, Allocation> allocations = new TreeMap<>();
    private final List<JCudaModule> modules = new ArrayList<>();
    private String poisonedBy;
    private boolean closed;
    private volatile String aborted;
    private final java.util.concurrent.atomic.AtomicBoolean destroyed = new java.util.concurrent.atomic.AtomicBoolean();
    private final long overheadBytes;

    JCudaContext(GpuDevice device, CUcontext context, long overheadBytes) {
      this.device = device;
      this.context = context;
      this.overheadBytes = overheadBytes;
    }

    @Override
    public GpuDevice device() {
      return device;
    }

    @Override
    public long overheadBytes() {
      return overheadBytes;
    }

    @Override
    public synchronized long allocate(long bytes) throws DriverException {
      enter("allocate");
      if (bytes <= 0) {
        throw new DriverException(Kind.INVALID, "allocate of " + bytes + " bytes: size must be > 0");
      }
      DevicePointer p = new DevicePointer();
      call(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc of " + bytes + " bytes on device "
          + device.index());
      // Freed memory of another context (another tenant) may come back from cuMemAlloc: zero it.
      int zeroed = JCudaDriver.cuMemsetD8(p, (byte) 0, bytes);
      if (zeroed != jcuda.driver.CUresult.CUDA_SUCCESS) {
        JCudaDriver.cuMemFree(p);
        call(zeroed, "cuMemsetD8 zeroing " + bytes + " new bytes on device " + device.index());
      }
      allocations.put(p.address(), new Allocation(p, bytes, false));
      return p.address();
    }

    @Override
    public synchronized void free(long address) throws DriverException {
      enter("free");
      Allocation a = allocations.get(address);
      if (a != null && a.moduleVariable()) {
        throw new DriverException(Kind.INVALID, String.format(
            "free of 0x%x: that is a module variable, which lives as long as its module", address));
      }
      if (a == null) {
        throw new DriverException(Kind.INVALID, String.format(
            "free of 0x%x: no allocation of this context starts there", address));
      }
      allocations.remove(address);
      call(JCudaDriver.cuMemFree(a.pointer()), String.format("cuMemFree(0x%x)", address));
    }

    @Override
    public synchronized void write(long address, ByteBuffer src) throws DriverException {
      enter("write");
      int n = src.remaining();
      CUdeviceptr dst = pointer(address, n, "write");
      if (src.isDirect()) {
        call(JCudaDriver.cuMemcpyHtoD(dst, Pointer.to(src), n), copyCall("cuMemcpyHtoD", n, address));
      } else if (src.hasArray()) {
        Pointer host = Pointer.to(src.array()).withByteOffset(src.arrayOffset() + src.position());
        call(JCudaDriver.cuMemcpyHtoD(dst, host, n), copyCall("cuMemcpyHtoD", n, address));
      } else {
        byte[] copy = new byte[n];
        src.duplicate().get(copy);
        call(JCudaDriver.cuMemcpyHtoD(dst, Pointer.to(copy), n), copyCall("cuMemcpyHtoD", n, address));
      }
      src.position(src.limit());
    }

    @Override
    public synchronized void read(long address, ByteBuffer dst) throws DriverException {
      enter("read");
      int n = dst.remaining();
      CUdeviceptr src = pointer(address, n, "read");
      if (dst.isDirect()) {
        call(JCudaDriver.cuMemcpyDtoH(Pointer.to(dst), src, n), copyCall("cuMemcpyDtoH", n, address));
      } else {
        Pointer host = Pointer.to(dst.array()).withByteOffset(dst.arrayOffset() + dst.position());
        call(JCudaDriver.cuMemcpyDtoH(host, src, n), copyCall("cuMemcpyDtoH", n, address));
      }
      dst.position(dst.limit());
    }

    @Override
    public synchronized void fill(long address, long bytes, byte value) throws DriverException {
      enter("fill");
      call(JCudaDriver.cuMemsetD8(pointer(address, bytes, "fill"), value, bytes),
          String.format("cuMemsetD8 of %d bytes at 0x%x", bytes, address));
    }

    @Override
    public synchronized void copy(long dstAddress, long srcAddress, long bytes) throws DriverException {
      enter("copy");
      CUdeviceptr dst = pointer(dstAddress, bytes, "copy destination");
      CUdeviceptr src = pointer(srcAddress, bytes, "copy source");
      String what = String.format("cuMemcpyDtoD of %d bytes from 0x%x to 0x%x", bytes, srcAddress,
          dstAddress);
      if (dstAddress < srcAddress + bytes && srcAddress < dstAddress + bytes && bytes > 0) {
        // cuMemcpyDtoD leaves overlapping ranges undefined: stage through a scratch allocation.
        CUdeviceptr staged = new CUdeviceptr();
        call(JCudaDriver.cuMemAlloc(staged, bytes), "cuMemAlloc of " + bytes + " staging bytes for "
            + what);
        try {
          call(JCudaDriver.cuMemcpyDtoD(staged, src, bytes), what + " (to staging)");
          call(JCudaDriver.cuMemcpyDtoD(dst, staged, bytes), what + " (from staging)");
        } finally {
          JCudaDriver.cuMemFree(staged);
        }
      } else {
        call(JCudaDriver.cuMemcpyDtoD(dst, src, bytes), what);
      }
    }

    @Override
    public synchronized void memset(long address, int width, int value, long count)
        throws DriverException {
      enter("memset");
      LaunchChecks.memset(address, width, count);
      CUdeviceptr p = pointer(address, count * width, "memset");
      String what = String.format("cuMemsetD%d of %d elements at 0x%x", width * 8, count, address);
      switch (width) {
        case 1 -> call(JCudaDriver.cuMemsetD8(p, (byte) value, count), what);
        case 2 -> call(JCudaDriver.cuMemsetD16(p, (short) value, count), what);
        default -> call(JCudaDriver.cuMemsetD32(p, value, count), what);
      }
    }

    @Override
    public synchronized LoadedModule loadModule(byte[] image, String name) throws DriverException {
      enter("loadModule");
      Map<String, KernelSignature> signatures = Map.of();
      List<String> variableNames = new ArrayList<>();
      byte[] data = image;
      if (looksLikePtx(image)) {
        int end = image.length;
        while (end > 0 && image[end - 1] == 0) {
          end--;
        }
        try {
          PtxModule parsed = PtxParser.parse(new String(image, 0, end, StandardCharsets.US_ASCII));
          Map<String, KernelSignature> sigs = new java.util.LinkedHashMap<>();
          for (PtxFunction f : parsed.entries()) {
            sigs.put(f.name(), PtxLayouts.signature(f));
          }
          signatures = java.util.Collections.unmodifiableMap(sigs);
          for (PtxVariable v : parsed.variables()) {
            if (v.space() == PtxVariable.Space.GLOBAL || v.space() == PtxVariable.Space.CONST) {
              variableNames.add(v.name());
            }
          }
        } catch (PtxException e) {
          throw new DriverException(Kind.INVALID, "loadModule " + name + ": " + e.getMessage(), e);
        }
        data = Arrays.copyOf(image, end + 1);
      } else if (NvInfo.isElf(image)) {
        signatures = NvInfo.parse(image, name);
      } else {
        // A fatbinary or anything else: nothing here says what its kernels take, so no launch of it
        // could be checked, and CUDA would read whatever argument sizes the image declares.
        throw new DriverException(Kind.INVALID, "loadModule " + name + ": an image of " + image.length
            + " bytes that is neither PTX text nor an ELF cubin; its kernels' parameter layouts cannot be"
            + " verified (load the PTX, or a cubin built with nvcc -cubin for this card)");
      }
      CUmodule module = new CUmodule();
      call(JCudaDriver.cuModuleLoadData(module, data), "cuModuleLoadData of module " + name + " ("
          + image.length + " bytes)");
      Map<String, ModuleGlobal> globals = new java.util.LinkedHashMap<>();
      for (String v : variableNames) {
        CUdeviceptr address = new CUdeviceptr();
        long[] size = new long[1];
        call(JCudaDriver.cuModuleGetGlobal(address, size, module, v),
            "cuModuleGetGlobal(" + v + ") in module " + name);
        DevicePointer raw = new DevicePointer(address);
        globals.put(v, new ModuleGlobal(v, raw.address(), size[0]));
        allocations.put(raw.address(), new Allocation(raw, size[0], true));
      }
      JCudaModule loaded = new JCudaModule(name, signatures, module, new HashMap<>(),
          java.util.Collections.unmodifiableMap(globals), this);
      modules.add(loaded);
      return loaded;
    }

    @Override
    public synchronized void launch(LoadedModule module, String function, Dim3 grid, Dim3 block,
        int sharedMemoryBytes, List<KernelArgument> args) throws DriverException {
      enter("launch of " + function);
      JCudaModule m = owned(module, function);
      KernelSignature sig = LaunchChecks.declared(m, function);
      LaunchChecks.arguments(m, sig, args);
      // Each parameter from a buffer of exactly its declared size: CUDA copies that many bytes.
      launchFunction(m, function, grid, block, sharedMemoryBytes, perParameter(sig, LaunchChecks.pack(sig, args), 0));
    }

    /** One pointer per parameter, each to a copy of exactly its bytes of {@code params} (from {@code base}). */
    private NativePointerObject[] perParameter(KernelSignature sig, ByteBuffer params, int base) {
      NativePointerObject[] pointers = new NativePointerObject[sig.layout().size()];
      for (int i = 0; i < pointers.length; i++) {
        KernelSignature.Param p = sig.layout().get(i);
        byte[] bytes = new byte[p.size()];
        params.get(base + p.offset(), bytes);
        pointers[i] = Pointer.to(bytes);
      }
      return pointers;
    }

    /** Unloads a module freed by its session, and forgets the memory of its variables. */
    @Override
    public synchronized void unloadModule(LoadedModule module) throws DriverException {
      enter("unloadModule");
      JCudaModule m = owned(module, "unload");
      if (!modules.remove(m)) {
        return;
      }
      for (ModuleGlobal g : m.globals().values()) {
        allocations.remove(g.address());
      }
      call(JCudaDriver.cuModuleUnload(m.module()), "cuModuleUnload of module " + m.name());
    }

    private JCudaModule owned(LoadedModule module, String function) throws DriverException {
      if (!(module instanceof JCudaModule m) || m.owner() != this) {
        throw new DriverException(Kind.INVALID, "launch of " + function + ": module " + module.name()
            + " was not loaded in this context");
      }
      return m;
    }

    private void launchFunction(JCudaModule m, String function, Dim3 grid, Dim3 block,
        int sharedMemoryBytes, NativePointerObject[] params) throws DriverException {
      CUfunction f = m.functions().get(function);
      if (f == null) {
        f = new CUfunction();
        call(JCudaDriver.cuModuleGetFunction(f, m.module(), function),
            "cuModuleGetFunction(" + function + ") in module " + m.name());
        m.functions().put(function, f);
      }
      call(JCudaDriver.cuLaunchKernel(f, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
          sharedMemoryBytes, null, Pointer.to(params), null), "cuLaunchKernel(" + m.name() + "/"
          + function + ", grid " + grid.x() + "x" + grid.y() + "x" + grid.z() + ", block " + block.x()
          + "x" + block.y() + "x" + block.z() + ")");
    }

    @Override
    public synchronized void launchRaw(LoadedModule module, String function, Dim3 grid, Dim3 block,
        int sharedMemoryBytes, ByteBuffer params) throws DriverException {
      enter("launch of " + function);
      JCudaModule m = owned(module, function);
      KernelSignature sig = LaunchChecks.declared(m, function);
      LaunchChecks.rawParameters(m, sig, params);
      // cuLaunchKernel takes one pointer per parameter: cut each from the buffer by the layout.
      launchFunction(m, function, grid, block, sharedMemoryBytes, perParameter(sig, params, params.position()));
    }

    @Override
    public synchronized void synchronize() throws DriverException {
      enter("synchronize");
      call(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /**
     * Destroys the CUDA context now, without the monitor (the session's thread holds it while it waits
     * in cuCtxSynchronize or a copy behind the kernel): CUDA then fails that wait, and every later call of
     * this context is refused. CUDA asks that no other call run on a context being destroyed; the one
     * that waits is cut short, which is the point.
     */
    @Override
    public void abort(String why) {
      aborted = why;
      if (destroyed.compareAndSet(false, true)) {
        int r = JCudaDriver.cuCtxDestroy(context);
        if (r != CUDA_SUCCESS) {
          LOG.log(System.Logger.Level.WARNING, "cuCtxDestroy (abort: {0}) on device {1} failed: {2}", why,
              device.index(), CUresult.stringFor(r));
        }
      }
    }

    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        allocations.clear();
        modules.clear();
        int r = destroyed.compareAndSet(false, true) ? JCudaDriver.cuCtxDestroy(context) : CUDA_SUCCESS;
        if (r != CUDA_SUCCESS) {
          LOG.log(System.Logger.Level.WARNING, "cuCtxDestroy on device {0} failed: {1}",
              device.index(), CUresult.stringFor(r));
        }
      }
      closed(this);
    }

    /** Makes this context current on the calling thread, after checking it can still be used. */
    private void enter(String op) throws DriverException {
      if (closed) {
        throw new DriverException(Kind.INVALID, op + ": context on device " + device.index()
            + " is closed");
      }
      if (poisonedBy != null) {
        throw new DriverException(Kind.KERNEL_FAULT, op + ": context poisoned by earlier fault: "
            + poisonedBy);
      }
      if (aborted != null) {
        throw new DriverException(Kind.KERNEL_FAULT, op + ": context destroyed: " + aborted);
      }
      call(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent for " + op);
    }

    /** {@link JCudaGpuDriver#check}, remembering a kernel fault: CUDA will fail every later call. */
    private void call(int result, String call) throws DriverException {
      if (result != CUDA_SUCCESS && aborted != null) {
        poisonedBy = call + " cut short: " + aborted;
        throw new DriverException(Kind.KERNEL_FAULT, call + " cut short: the context was destroyed: " + aborted);
      }
      if (result != CUDA_SUCCESS && kindOf(result) == Kind.KERNEL_FAULT) {
        poisonedBy = call + " reported " + CUresult.stringFor(result);
      }
      check(result, call);
    }

    private CUdeviceptr pointer(long address, long bytes, String op) throws DriverException {
      Map.Entry<Long, Allocation> e = allocations.floorEntry(address);
      if (e != null && bytes >= 0) {
        long offset = address - e.getKey();
        long size = e.getValue().bytes();
        if (offset < size && bytes <= size - offset) {
          return e.getValue().pointer().withByteOffset(offset);
        }
        if (offset < size) {
          throw new DriverException(Kind.INVALID, String.format(
              "%s of %d bytes at 0x%x overruns the allocation at 0x%x (%d bytes)", op, bytes, address,
              e.getKey(), size));
        }
      }
      throw new DriverException(Kind.INVALID, String.format(
          "%s of %d bytes at 0x%x: address is not inside any allocation of this context", op, bytes,
          address));
    }

    private String copyCall(String call, int bytes, long address) {
      return String.format("%s of %d bytes at 0x%x", call, bytes, address);
    }
  }

  /** PTX is text: no NUL before the terminating ones. Cubin (ELF) and fatbin images contain NULs. */
  private static boolean looksLikePtx(byte[] image) {
    int end = image.length;
    while (end > 0 && image[end - 1] == 0) {
      end--;
    }
    for (int i = 0; i < end; i++) {
      if (image[i] == 0) {
        return false;
      }
    }
    return end > 0;
  }
}
