package io.spillway.agent;

import io.grpc.Status;
import io.spillway.client.DeviceBuffer;
import io.spillway.client.DeviceInfo;
import io.spillway.client.Dim3;
import io.spillway.client.Module;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One shim, that is one process: reads its requests in order and answers the synchronous ones
 * (cuda-shim/src/main/c/wire.h has the layout). Each CUDA context is a {@link Context} with its own
 * session; context 0 is the session of the process's primary contexts, opened at hello.
 *
 * <p>Threading: one thread runs {@link #serve()} and owns everything here, including the sessions (the SDK
 * wants one thread per session at a time).
 *
 * <p>Errors: a failed synchronous request is answered with a CUresult and a diagnosis; a failed
 * asynchronous one is held and answered by the context's next synchronous request, as CUDA reports errors
 * of queued work at the next synchronizing call.
 */
final class ShimConnection {

  private static final Logger LOG = Logger.getLogger(ShimConnection.class.getName());

  static final int PROTOCOL_VERSION = 1;
  static final int OP_HELLO = 1, OP_CTX_CREATE = 2, OP_CTX_DESTROY = 3, OP_MALLOC = 4, OP_FREE = 5,
      OP_HTOD = 6, OP_DTOH = 7, OP_DTOD = 8, OP_MEMSET = 9, OP_MODULE_LOAD = 10, OP_MODULE_UNLOAD = 11,
      OP_GET_FUNCTION = 12, OP_LAUNCH = 13, OP_SYNC = 14, OP_GET_GLOBAL = 15, OP_EVENT_RECORD = 16,
      OP_EVENT_ELAPSED = 17, OP_EVENT_DESTROY = 18, OP_FENCE = 19, OP_MEM_INFO = 20, OP_LOG = 21;

  /** CUresult values the agent answers with. */
  static final int SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NO_DEVICE = 100, INVALID_IMAGE = 200,
      INVALID_CONTEXT = 201, NO_BINARY_FOR_GPU = 209, INVALID_HANDLE = 400, NOT_FOUND = 500,
      ILLEGAL_ADDRESS = 700, LAUNCH_FAILED = 719, NOT_PERMITTED = 800, NOT_SUPPORTED = 801, UNKNOWN = 999;

  /** A request may be at most this large (a module image, a launch's parameters, an inline copy). */
  static final int MAX_REQUEST_BYTES = 256 << 20;
  /** Per context: a quarter TiB of addresses, more than any card has. */
  static final long CONTEXT_VA_BYTES = 1L << 38;

  /** A CUDA error to answer with. */
  static final class CudaError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int code;

    CudaError(int code, String message) {
      super(message);
      this.code = code;
    }
  }

  record FunctionEntry(ModuleEntry module, String name, KernelLayout layout) {
  }

  record ModuleEntry(Module module, Map<String, KernelLayout> kernels, Map<String, AddressSpace.Allocation<DeviceBuffer>> globals) {
  }

  /** One CUDA context: one session, its addresses, its modules, its first unreported error. */
  final class Context {
    final int id;
    final Gpu gpu;
    final AddressSpace<DeviceBuffer> addresses;
    final long[] limit;
    final long[] used;
    final Map<Integer, ModuleEntry> modules = new HashMap<>();
    final Map<Integer, FunctionEntry> functions = new HashMap<>();
    final Map<Integer, Integer> events = new HashMap<>();
    CudaError pending;
    boolean replayForbidden;
    int nextModule = 1;
    int nextFunction = 1;

    Context(int id, Gpu gpu, long vaBase) {
      this.id = id;
      this.gpu = gpu;
      this.addresses = new AddressSpace<>(vaBase, CONTEXT_VA_BYTES);
      List<DeviceInfo> devices = gpu.devices();
      this.limit = new long[devices.size()];
      this.used = new long[devices.size()];
      for (int i = 0; i < limit.length; i++) {
        long sliceLimit = devices.get(i).memoryLimitBytes();
        limit[i] = requestedBytes > 0 ? Math.min(requestedBytes, sliceLimit) : sliceLimit;
      }
    }

    void hold(CudaError e) {
      if (pending == null) {
        pending = e;
      }
    }
  }

  private final SocketChannel channel;
  private final SessionOpener sessions;
  private final AgentConfig config;
  private final PeerPolicy.Resolver peerCheck;
  private final Map<Integer, Context> contexts = new HashMap<>();
  private ByteBuffer in = ByteBuffer.allocate(64 << 10).order(ByteOrder.LITTLE_ENDIAN);
  private ByteBuffer out = ByteBuffer.allocate(64 << 10).order(ByteOrder.LITTLE_ENDIAN);
  private MappedByteBuffer shm;
  private long vaBase;
  private long vaBytes;
  private int pid;
  private SliceSpec slice;
  private long requestedBytes;
  private int nextContext;

  /**
   * @param peerCheck given the pid and descriptor the shim claims, answers the pid to open the descriptor
   *                  under, or refuses
   */
  ShimConnection(SocketChannel channel, SessionOpener sessions, AgentConfig config, PeerPolicy.Resolver peerCheck) {
    this.channel = channel;
    this.sessions = sessions;
    this.config = config;
    this.peerCheck = peerCheck;
  }

  /** Serves until the shim disconnects; then ends every session. */
  void serve() {
    try {
      while (true) {
        if (!readFully(in.clear().limit(8))) {
          return;
        }
        int length = in.getInt(0);
        int op = in.getInt(4);
        if (length < 4 || length > MAX_REQUEST_BYTES) {
          LOG.warning("pid " + pid + ": request of " + length + " bytes (op " + op + ") refused; closing");
          return;
        }
        int body = length - 4;
        if (in.capacity() < body) {
          in = ByteBuffer.allocate(Math.max(body, in.capacity() * 2)).order(ByteOrder.LITTLE_ENDIAN);
        }
        in.clear().limit(body);
        if (!readFully(in)) {
          return;
        }
        in.flip();
        handle(op, in);
      }
    } catch (IOException e) {
      LOG.fine("pid " + pid + ": connection ended: " + e.getMessage());
    } finally {
      for (Context c : contexts.values()) {
        closeQuietly(c);
      }
      contexts.clear();
    }
  }

  private void handle(int op, ByteBuffer b) throws IOException {
    switch (op) {
      case OP_HELLO -> reply(() -> hello(b));
      case OP_FENCE -> replyOk(null);
      case OP_LOG -> {
        int n = b.getInt();
        byte[] text = new byte[Math.min(n, b.remaining())];
        b.get(text);
        LOG.warning("pid " + pid + ": " + new String(text, StandardCharsets.UTF_8));
      }
      case OP_CTX_CREATE -> reply(() -> createContext(b.getInt()));
      case OP_CTX_DESTROY -> {
        Context c = contexts.remove(b.getInt());
        if (c == null) {
          replyError(new CudaError(INVALID_CONTEXT, "cuCtxDestroy: no such context"));
        } else {
          reply(() -> {
            CudaError held = c.pending;
            c.gpu.close();
            if (held != null) {
              throw held;
            }
            return null;
          });
        }
      }
      default -> {
        int ctxId = b.getInt();
        int dev = b.getInt();
        Context c = contexts.get(ctxId);
        boolean sync = isSync(op);
        if (c == null) {
          CudaError e = new CudaError(INVALID_CONTEXT, "op " + op + ": context " + ctxId + " is not open");
          if (sync) {
            replyError(e);
          }
          return;
        }
        if (dev < 0 || dev >= c.limit.length) {
          CudaError e = new CudaError(INVALID_VALUE, "op " + op + ": device " + dev + " is not one of the context's "
              + c.limit.length);
          if (sync) {
            replyError(e);
          } else {
            c.hold(e);
          }
          return;
        }
        if (sync) {
          reply(() -> {
            ByteBuffer r = contextOp(op, c, dev, b);
            CudaError held = c.pending;
            if (held != null) {
              c.pending = null;
              throw held;
            }
            return r;
          });
        } else {
          try {
            contextOp(op, c, dev, b);
          } catch (RuntimeException e) {
            c.hold(cudaError(describe(op), e));
          }
        }
      }
    }
  }

  static boolean isSync(int op) {
    return switch (op) {
      case OP_FREE, OP_HTOD, OP_DTOD, OP_MEMSET, OP_MODULE_UNLOAD, OP_LAUNCH, OP_EVENT_RECORD, OP_EVENT_DESTROY,
          OP_LOG -> false;
      default -> true;
    };
  }

  private static String describe(int op) {
    return switch (op) {
      case OP_MALLOC -> "cuMemAlloc";
      case OP_FREE -> "cuMemFree";
      case OP_HTOD -> "cuMemcpyHtoD";
      case OP_DTOH -> "cuMemcpyDtoH";
      case OP_DTOD -> "cuMemcpyDtoD";
      case OP_MEMSET -> "cuMemset";
      case OP_MODULE_LOAD -> "cuModuleLoadData";
      case OP_MODULE_UNLOAD -> "cuModuleUnload";
      case OP_GET_FUNCTION -> "cuModuleGetFunction";
      case OP_LAUNCH -> "cuLaunchKernel";
      case OP_SYNC -> "synchronize";
      case OP_GET_GLOBAL -> "cuModuleGetGlobal";
      case OP_EVENT_RECORD -> "cuEventRecord";
      case OP_EVENT_ELAPSED -> "cuEventElapsedTime";
      case OP_EVENT_DESTROY -> "cuEventDestroy";
      case OP_MEM_INFO -> "cuMemGetInfo";
      default -> "op " + op;
    };
  }

  private ByteBuffer hello(ByteBuffer b) {
    int version = b.getInt();
    if (version != PROTOCOL_VERSION) {
      throw new CudaError(NO_DEVICE, "shim speaks protocol " + version + ", this agent " + PROTOCOL_VERSION
          + ": use the shim that came with the agent");
    }
    pid = b.getInt();
    int fd = b.getInt();
    b.getInt();
    long shmBytes = b.getLong();
    vaBase = b.getLong();
    vaBytes = b.getLong();
    int sliceLength = b.getInt();
    byte[] sliceText = new byte[sliceLength];
    b.get(sliceText);
    int procPid;
    try {
      procPid = peerCheck.procPid(pid, fd);
    } catch (PeerPolicy.Refused e) {
      throw new CudaError(NOT_PERMITTED, "hello from pid " + pid + " refused: " + e.getMessage());
    }
    try {
      slice = SliceSpec.parse(new String(sliceText, StandardCharsets.UTF_8)).orElse(config.defaults());
    } catch (IllegalArgumentException e) {
      throw new CudaError(NO_DEVICE, "SPILLWAY_SLICE: " + e.getMessage());
    }
    config.check(slice);
    requestedBytes = slice.memoryBytes();
    if (shmBytes > 0) {
      Path path = Path.of("/proc", String.valueOf(procPid), "fd", String.valueOf(fd));
      try (FileChannel fc = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        shm = fc.map(FileChannel.MapMode.READ_WRITE, 0, shmBytes);
        shm.order(ByteOrder.LITTLE_ENDIAN);
      } catch (IOException e) {
        throw new CudaError(NO_DEVICE, "cannot map the shim's shared memory " + path + ": " + e.getMessage());
      }
    }
    Context primary = createContextWith(slice);
    List<DeviceInfo> devices = primary.gpu.devices();
    ByteBuffer r = ByteBuffer.allocate(4 + devices.size() * (256 + 16 + 8 + 4 + 4 * DeviceModels.ATTRIBUTES))
        .order(ByteOrder.LITTLE_ENDIAN);
    r.putInt(devices.size());
    for (int i = 0; i < devices.size(); i++) {
      DeviceInfo d = devices.get(i);
      byte[] name = new byte[256];
      byte[] n = DeviceModels.name(d).getBytes(StandardCharsets.UTF_8);
      System.arraycopy(n, 0, name, 0, Math.min(255, n.length));
      r.put(name).put(DeviceModels.uuid(d)).putLong(primary.limit[i]);
      int[] attrs = DeviceModels.attributes(d, i + 1);
      r.putInt(attrs.length);
      for (int a : attrs) {
        r.putInt(a);
      }
    }
    LOG.info("pid " + pid + ": session " + primary.gpu.sessionId() + " on " + devices + " for slice " + slice.text());
    return r.flip();
  }

  private ByteBuffer createContext(int device) {
    if (slice == null) {
      throw new CudaError(INVALID_CONTEXT, "cuCtxCreate before hello");
    }
    SliceSpec one = new SliceSpec(1, slice.memoryBytes(), slice.memoryPercent(), slice.computePercent(), slice.models());
    Context c = createContextWith(one);
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, c.id);
  }

  private Context createContextWith(SliceSpec spec) {
    int id = nextContext;
    long base = vaBase + (long) id * CONTEXT_VA_BYTES;
    if (base + CONTEXT_VA_BYTES > vaBase + vaBytes) {
      throw new CudaError(OUT_OF_MEMORY, "a process may have at most " + vaBytes / CONTEXT_VA_BYTES + " contexts");
    }
    Gpu gpu;
    try {
      gpu = sessions.open(spec.request(config.tenant(), "pid " + pid + " ctx " + id));
    } catch (SpillwayException e) {
      int code = e.code() == Status.Code.RESOURCE_EXHAUSTED ? OUT_OF_MEMORY : NO_DEVICE;
      throw new CudaError(code, "no slice for " + spec.text() + ": " + e.getMessage());
    } catch (IllegalArgumentException e) {
      throw new CudaError(INVALID_VALUE, e.getMessage());
    }
    nextContext++;
    Context c = new Context(id, gpu, base);
    contexts.put(id, c);
    return c;
  }

  private ByteBuffer contextOp(int op, Context c, int dev, ByteBuffer b) {
    switch (op) {
      case OP_MALLOC -> {
        long bytes = b.getLong();
        if (bytes <= 0) {
          throw new CudaError(INVALID_VALUE, "cuMemAlloc of " + bytes + " bytes");
        }
        if (c.used[dev] + bytes > c.limit[dev]) {
          throw new CudaError(OUT_OF_MEMORY, "cuMemAlloc of " + bytes + " bytes: the slice has "
              + (c.limit[dev] - c.used[dev]) + " of " + c.limit[dev] + " bytes free on device " + dev);
        }
        DeviceBuffer buffer = c.gpu.alloc(bytes, dev);
        AddressSpace.Allocation<DeviceBuffer> a = c.addresses.allocate(bytes, buffer);
        if (a == null) {
          c.gpu.free(buffer);
          throw new CudaError(OUT_OF_MEMORY, "cuMemAlloc of " + bytes + " bytes: the context's address range is used up");
        }
        c.used[dev] += bytes;
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, a.address());
      }
      case OP_FREE -> {
        long address = b.getLong();
        AddressSpace.Allocation<DeviceBuffer> a = c.addresses.free(address);
        if (a == null) {
          throw new CudaError(INVALID_VALUE, "cuMemFree of 0x" + Long.toHexString(address) + ": not an allocation");
        }
        c.used[a.buffer().device()] -= a.size();
        c.gpu.free(a.buffer());
        return null;
      }
      case OP_HTOD -> {
        long dst = b.getLong();
        long bytes = b.getLong();
        int where = b.getInt();
        b.getInt();
        long offset = b.getLong();
        AddressSpace.Target<DeviceBuffer> t = range(c, "cuMemcpyHtoD", dst, bytes);
        ByteBuffer d = data(b, where, offset, bytes);
        if (!c.replayForbidden) {
          long found = PointerSlots.storedPointer(d, dst, c.addresses);
          if (found != 0) {
            c.replayForbidden = true;
            c.gpu.forbidReplay("cudaMemcpy wrote device address 0x" + Long.toHexString(found)
                + " into device memory at 0x" + Long.toHexString(dst) + "; nodes translate pointers only in kernel"
                + " parameters, so the session cannot be rebuilt on another GPU");
          }
        }
        c.gpu.write(t.allocation().buffer(), t.offset(), d);
        return null;
      }
      case OP_DTOH -> {
        long src = b.getLong();
        long bytes = b.getLong();
        int where = b.getInt();
        b.getInt();
        long offset = b.getLong();
        AddressSpace.Target<DeviceBuffer> t = range(c, "cuMemcpyDtoH", src, bytes);
        if (where == 0) {
          if (bytes > MAX_REQUEST_BYTES) {
            throw new CudaError(INVALID_VALUE, "inline read of " + bytes + " bytes");
          }
          ByteBuffer r = ByteBuffer.allocate((int) bytes);
          c.gpu.read(t.allocation().buffer(), t.offset(), r);
          return r.flip();
        }
        c.gpu.read(t.allocation().buffer(), t.offset(), shmSlice(offset, bytes));
        return null;
      }
      case OP_DTOD -> {
        long dst = b.getLong();
        long src = b.getLong();
        long bytes = b.getLong();
        AddressSpace.Target<DeviceBuffer> d = range(c, "cuMemcpyDtoD destination", dst, bytes);
        AddressSpace.Target<DeviceBuffer> s = range(c, "cuMemcpyDtoD source", src, bytes);
        c.gpu.copy(d.allocation().buffer(), d.offset(), s.allocation().buffer(), s.offset(), bytes);
        return null;
      }
      case OP_MEMSET -> {
        long dst = b.getLong();
        int width = b.getInt();
        int value = b.getInt();
        long count = b.getLong();
        if (width != 1 && width != 2 && width != 4) {
          throw new CudaError(INVALID_VALUE, "cuMemset of width " + width);
        }
        AddressSpace.Target<DeviceBuffer> t = range(c, "cuMemsetD" + 8 * width, dst, count * width);
        c.gpu.memset(t.allocation().buffer(), t.offset(), width, value, count);
        return null;
      }
      case OP_MODULE_LOAD -> {
        long bytes = b.getLong();
        if (bytes <= 0 || bytes > b.remaining()) {
          throw new CudaError(INVALID_IMAGE, "module image of " + bytes + " bytes (request has " + b.remaining() + ")");
        }
        byte[] image = new byte[(int) bytes];
        b.get(image);
        String ptx = ptxOf(c, dev, image);
        Map<String, KernelLayout> kernels;
        try {
          kernels = PtxEntries.parse(ptx);
        } catch (IllegalArgumentException e) {
          throw new CudaError(INVALID_IMAGE, "module PTX: " + e.getMessage());
        }
        int id = c.nextModule++;
        Module m = c.gpu.loadModule(ptx.getBytes(StandardCharsets.UTF_8), "pid" + pid + "-module" + id);
        c.modules.put(id, new ModuleEntry(m, kernels, new HashMap<>()));
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, id);
      }
      case OP_MODULE_UNLOAD -> {
        c.modules.remove(b.getInt());
        return null; /* the session frees modules when it ends; there is no unload op */
      }
      case OP_GET_FUNCTION -> {
        ModuleEntry m = module(c, b.getInt());
        String name = string(b);
        KernelLayout layout = m.kernels().get(name);
        if (layout == null) {
          throw new CudaError(NOT_FOUND, "cuModuleGetFunction: the module has no kernel " + name + " (it has "
              + m.kernels().keySet() + ")");
        }
        int id = c.nextFunction++;
        c.functions.put(id, new FunctionEntry(m, name, layout));
        ByteBuffer r = ByteBuffer.allocate(12 + 8 * layout.params().size()).order(ByteOrder.LITTLE_ENDIAN);
        r.putInt(id).putInt(layout.params().size()).putInt(layout.paramBytes());
        for (KernelLayout.Param p : layout.params()) {
          r.putInt(p.offset()).putInt(p.size());
        }
        return r.flip();
      }
      case OP_LAUNCH -> {
        FunctionEntry f = c.functions.get(b.getInt());
        if (f == null) {
          throw new CudaError(INVALID_HANDLE, "cuLaunchKernel: unknown function");
        }
        Dim3 grid = new Dim3(b.getInt(), b.getInt(), b.getInt());
        Dim3 block = new Dim3(b.getInt(), b.getInt(), b.getInt());
        int shared = b.getInt();
        int paramBytes = b.getInt();
        if (paramBytes != f.layout().paramBytes() || paramBytes > b.remaining()) {
          throw new CudaError(INVALID_VALUE, "cuLaunchKernel of " + f.name() + ": " + paramBytes
              + " parameter bytes, the kernel declares " + f.layout().paramBytes());
        }
        byte[] params = new byte[paramBytes];
        b.get(params);
        if (dev != 0) {
          throw new CudaError(NOT_SUPPORTED, "cuLaunchKernel on device " + dev + " of a multi-GPU slice: raw launches"
              + " run on a session's device 0 (the SDK has no launchRaw on another device)");
        }
        c.gpu.launchRaw(f.module().module(), f.name(), f.layout(), grid, block, shared, params,
            PointerSlots.find(f.layout(), params, c.addresses));
        return null;
      }
      case OP_SYNC -> {
        c.gpu.synchronize();
        return null;
      }
      case OP_GET_GLOBAL -> {
        ModuleEntry m = module(c, b.getInt());
        if (dev != 0) {
          throw new CudaError(NOT_SUPPORTED, "cuModuleGetGlobal on device " + dev + " of a multi-GPU slice");
        }
        String name = string(b);
        AddressSpace.Allocation<DeviceBuffer> a = m.globals().get(name);
        if (a == null) {
          DeviceBuffer buffer = c.gpu.global(m.module(), name);
          a = c.addresses.allocate(buffer.size(), buffer);
          if (a == null) {
            throw new CudaError(OUT_OF_MEMORY, "cuModuleGetGlobal " + name + ": the context's address range is used up");
          }
          m.globals().put(name, a);
        }
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0, a.address()).putLong(8, a.size());
      }
      case OP_EVENT_RECORD -> {
        int shimId = b.getInt();
        Integer id = c.events.get(shimId);
        if (id == null) {
          id = c.gpu.createEvent();
          c.events.put(shimId, id);
        }
        c.gpu.record(id);
        return null;
      }
      case OP_EVENT_ELAPSED -> {
        Integer start = c.events.get(b.getInt());
        Integer end = c.events.get(b.getInt());
        if (start == null || end == null) {
          throw new CudaError(INVALID_HANDLE, "cuEventElapsedTime: an event was never recorded");
        }
        float ms = c.gpu.elapsedMillis(start, end);
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, ms);
      }
      case OP_EVENT_DESTROY -> {
        Integer id = c.events.remove(b.getInt());
        if (id != null) {
          c.gpu.freeEvent(id);
        }
        return null;
      }
      case OP_MEM_INFO -> {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0, c.limit[dev] - c.used[dev])
            .putLong(8, c.limit[dev]);
      }
      default -> throw new CudaError(NOT_SUPPORTED, "op " + op + " is not part of protocol " + PROTOCOL_VERSION);
    }
  }

  private String ptxOf(Context c, int dev, byte[] image) {
    if (Fatbin.isFatbin(image)) {
      DeviceInfo d = c.gpu.devices().get(dev);
      DeviceModels.Model m = DeviceModels.model(d.model());
      try {
        return Fatbin.ptxFor(Fatbin.parse(image), m.major() * 10 + m.minor());
      } catch (IllegalArgumentException e) {
        throw new CudaError(e.getMessage().contains("no PTX") ? NO_BINARY_FOR_GPU : INVALID_IMAGE, e.getMessage());
      }
    }
    if (image.length >= 4 && image[0] == 0x7f && image[1] == 'E' && image[2] == 'L' && image[3] == 'F') {
      throw new CudaError(NO_BINARY_FOR_GPU, "module is a cubin (ELF) without PTX: the pool runs PTX; "
          + "build with PTX, for example nvcc -gencode arch=compute_75,code=compute_75");
    }
    int end = image.length;
    while (end > 0 && image[end - 1] == 0) {
      end--;
    }
    return new String(image, 0, end, StandardCharsets.UTF_8);
  }

  private static ModuleEntry module(Context c, int id) {
    ModuleEntry m = c.modules.get(id);
    if (m == null) {
      throw new CudaError(INVALID_HANDLE, "module " + id + " is not loaded in this context");
    }
    return m;
  }

  private static String string(ByteBuffer b) {
    int n = b.getInt();
    if (n < 0 || n > b.remaining()) {
      throw new CudaError(INVALID_VALUE, "name of " + n + " bytes");
    }
    byte[] s = new byte[n];
    b.get(s);
    return new String(s, StandardCharsets.UTF_8);
  }

  private static AddressSpace.Target<DeviceBuffer> range(Context c, String what, long address, long bytes) {
    try {
      return c.addresses.range(what, address, bytes);
    } catch (IllegalArgumentException e) {
      throw new CudaError(INVALID_VALUE, e.getMessage());
    }
  }

  private ByteBuffer data(ByteBuffer b, int where, long offset, long bytes) {
    if (where == 0) {
      if (bytes > b.remaining()) {
        throw new CudaError(INVALID_VALUE, "inline data of " + bytes + " bytes, request has " + b.remaining());
      }
      ByteBuffer d = b.slice(b.position(), (int) bytes);
      b.position(b.position() + (int) bytes);
      return d;
    }
    return shmSlice(offset, bytes);
  }

  private ByteBuffer shmSlice(long offset, long bytes) {
    if (shm == null || offset < 0 || bytes < 0 || offset + bytes > shm.capacity()) {
      throw new CudaError(INVALID_VALUE, "shared-memory range " + offset + "+" + bytes + " outside "
          + (shm == null ? 0 : shm.capacity()) + " bytes");
    }
    return shm.slice((int) offset, (int) bytes);
  }

  /** The CUresult for an SDK failure, with the SDK's diagnosis. */
  static CudaError cudaError(String call, RuntimeException e) {
    if (e instanceof CudaError ce) {
      return ce;
    }
    if (e instanceof SpillwayException se) {
      int code = switch (se.code()) {
        case RESOURCE_EXHAUSTED -> OUT_OF_MEMORY;
        case INVALID_ARGUMENT, OUT_OF_RANGE -> se.op().contains("launch") ? LAUNCH_FAILED : INVALID_VALUE;
        case NOT_FOUND -> NOT_FOUND;
        case UNIMPLEMENTED -> NOT_SUPPORTED;
        case PERMISSION_DENIED -> NOT_PERMITTED;
        default -> UNKNOWN;
      };
      return new CudaError(code, call + ": " + se.getMessage());
    }
    if (e instanceof UnsupportedOperationException) {
      return new CudaError(NOT_SUPPORTED, call + ": " + e.getMessage());
    }
    if (e instanceof IllegalArgumentException) {
      return new CudaError(INVALID_VALUE, call + ": " + e.getMessage());
    }
    LOG.log(Level.WARNING, call + " failed", e);
    return new CudaError(UNKNOWN, call + ": " + e);
  }

  interface Body {
    ByteBuffer run();
  }

  private void reply(Body body) throws IOException {
    ByteBuffer r;
    try {
      r = body.run();
    } catch (RuntimeException e) {
      replyError(cudaError("request", e));
      return;
    }
    replyOk(r);
  }

  private void replyOk(ByteBuffer payload) throws IOException {
    int n = payload == null ? 0 : payload.remaining();
    ensureOut(8 + n);
    out.clear();
    out.putInt(4 + n).putInt(SUCCESS);
    if (payload != null) {
      out.put(payload);
    }
    out.flip();
    writeFully(out);
  }

  private void replyError(CudaError e) throws IOException {
    byte[] text = String.valueOf(e.getMessage()).getBytes(StandardCharsets.UTF_8);
    if (e.code != NOT_SUPPORTED && e.code != OUT_OF_MEMORY) {
      LOG.info("pid " + pid + ": error " + e.code + ": " + e.getMessage());
    } else {
      LOG.warning("pid " + pid + ": " + e.getMessage());
    }
    ensureOut(8 + text.length);
    out.clear();
    out.putInt(4 + text.length).putInt(e.code).put(text);
    out.flip();
    writeFully(out);
  }

  private void ensureOut(int n) {
    if (out.capacity() < n) {
      out = ByteBuffer.allocate(Math.max(n, out.capacity() * 2)).order(ByteOrder.LITTLE_ENDIAN);
    }
  }

  private boolean readFully(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      if (channel.read(b) < 0) {
        return false;
      }
    }
    return true;
  }

  private void writeFully(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      channel.write(b);
    }
  }

  private void closeQuietly(Context c) {
    try {
      c.gpu.close();
    } catch (RuntimeException e) {
      LOG.fine("pid " + pid + ": closing context " + c.id + ": " + e.getMessage());
    }
  }

  /** For the logs of the server: which process this is. */
  int pid() {
    return pid;
  }

  List<Integer> contextIds() {
    return new ArrayList<>(contexts.keySet());
  }
}
