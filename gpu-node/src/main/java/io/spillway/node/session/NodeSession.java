package io.spillway.node.session;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status.Code;
import io.spillway.node.NodeLimits;
import io.spillway.node.driver.DriverContext;
import io.spillway.node.driver.DriverContext.Dim3;
import io.spillway.node.driver.DriverException;
import io.spillway.node.driver.KernelArgument;
import io.spillway.node.driver.KernelSignature;
import io.spillway.node.driver.LoadedModule;
import io.spillway.node.schedule.FairShareScheduler;
import io.spillway.protocol.v1.Alloc;
import io.spillway.node.driver.ModuleGlobal;
import io.spillway.protocol.v1.Closed;
import io.spillway.protocol.v1.Copy;
import io.spillway.protocol.v1.Elapsed;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.EventElapsed;
import io.spillway.protocol.v1.EventFree;
import io.spillway.protocol.v1.EventRecord;
import io.spillway.protocol.v1.Fill;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.GetGlobal;
import io.spillway.protocol.v1.GlobalInfo;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Launch;
import io.spillway.protocol.v1.LaunchRaw;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Memset;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.PointerSlot;
import io.spillway.protocol.v1.ReadData;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.Synchronized;
import io.spillway.protocol.v1.Write;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * One session on a node: its contexts (one per GPU of its slice), the handles the client chose, and
 * the checks that keep a session inside its own memory.
 *
 * <p>Every op is checked before the driver sees it: handles must belong to this session, byte ranges
 * must lie inside the handle's allocation (overflow-safe), allocations must fit the slice's memory
 * quota, kernel arguments must match the kernel's declared parameters. A failed check answers the op
 * with an error and leaves the session as it was; only a kernel fault is fatal.
 *
 * <p>Events (protocol version 2) are timed on the node: recording one waits for the session's earlier
 * work on all its GPUs ({@link DriverContext#synchronize}), then reads the node's monotonic clock. On the
 * host driver work is done when its op returns, so the wait is free; on a real GPU it costs a
 * synchronization on the node, but never a round trip to the client.
 *
 * <p>Threading: ops are executed by one thread at a time, in sequence order (the server serializes
 * each session's frames). Counters read by other threads (metrics) are atomic.
 */
public final class NodeSession implements AutoCloseable {

  /** Where replies go. Replies must be delivered in the order they are given. */
  public interface ReplySink {
    void reply(Reply reply);

    /** Sends what was given so far; called before large payloads so replies keep their order. */
    void flush();
  }

  /** One GPU of the session: its context, quota and scheduler share. */
  public static final class Device {
    final int index;
    final DriverContext context;
    final long memoryLimit;
    final FairShareScheduler.Share share;
    /** What the context takes itself: charged from the open, never given back while the session lives. */
    final long contextBytes;
    long memoryUsed;

    public Device(int index, DriverContext context, long memoryLimit, FairShareScheduler.Share share) {
      this(index, context, memoryLimit, share, 0);
    }

    /** @param contextBytes device memory the context takes itself, charged to the slice from the start */
    public Device(int index, DriverContext context, long memoryLimit, FairShareScheduler.Share share,
        long contextBytes) {
      if (contextBytes < 0 || contextBytes > memoryLimit) {
        throw new IllegalArgumentException("context of " + contextBytes + " bytes does not fit a slice of "
            + memoryLimit + " bytes");
      }
      this.index = index;
      this.context = context;
      this.memoryLimit = memoryLimit;
      this.share = share;
      this.contextBytes = contextBytes;
      this.memoryUsed = contextBytes;
    }

    public long contextBytes() {
      return contextBytes;
    }

    public DriverContext context() {
      return context;
    }

    public long memoryUsed() {
      return memoryUsed;
    }

    public long memoryLimit() {
      return memoryLimit;
    }

    public FairShareScheduler.Share share() {
      return share;
    }
  }

  /**
   * A buffer, or (global) a handle bound to a module variable: it names the variable's memory, which
   * belongs to the module, so it is not charged to the quota and freeing it only unbinds it.
   */
  private record Buffer(long handle, int device, long address, long size, boolean persistent, boolean global) {}

  /** A loaded module and the device memory charged for it on each device (its image and variables). */
  private record Module(long handle, String name, List<LoadedModule> perDevice, long[] charged) {}

  /** Remembered so that a double free says so rather than "unknown handle". */
  private static final int FREED_MEMORY = 4096;
  /** Events a session may hold at once; CUDA programs create a few. */
  static final int MAX_EVENTS = 1 << 16;
  /** The protocol version that brought copy, memset, launch_raw, get_global and events. */
  static final int V2 = 2;
  /** The time of an event that a gateway replayed onto this node: it was taken on another GPU. */
  private static final long REPLAYED = Long.MIN_VALUE;

  private final String id;
  private final String tenant;
  private final List<Device> devices;
  private final int chunkBytes;
  private final long launchWaitNanos;
  private final Map<Long, Buffer> buffers = new HashMap<>();
  private final Map<Long, Module> modules = new HashMap<>();
  /** Recorded events and their times (nanoseconds of {@link #clock}, or {@link #REPLAYED}). */
  private final Map<Long, Long> events = new HashMap<>();
  private final Map<Long, Long> eventFreedAt = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, Long> eldest) {
      return size() > FREED_MEMORY;
    }
  };
  private final int protocolVersion;
  private final LongSupplier clock;
  private final NodeLimits limits;
  private final ScheduledExecutorService watchdog;
  /** Set from any thread by {@link #abort}; the session runs nothing once it is. */
  private volatile String aborted;
  private final Map<Long, Long> freedAt = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, Long> eldest) {
      return size() > FREED_MEMORY;
    }
  };
  private final AtomicLong opsExecuted = new AtomicLong();
  private final AtomicLong opsFailed = new AtomicLong();
  private long lastSeq;
  private boolean closed;

  public NodeSession(String id, String tenant, List<Device> devices, int chunkBytes,
      long launchWaitMillis) {
    this(id, tenant, devices, chunkBytes, launchWaitMillis, 1, System::nanoTime);
  }

  /**
   * @param protocolVersion the version the session was opened with: ops newer than it are refused
   * @param clock           monotonic nanoseconds, read when an event is recorded
   */
  public NodeSession(String id, String tenant, List<Device> devices, int chunkBytes,
      long launchWaitMillis, int protocolVersion, LongSupplier clock) {
    this(id, tenant, devices, chunkBytes, launchWaitMillis, protocolVersion, clock, NodeLimits.defaults());
  }

  /** @param limits the handles, modules and module size the session may hold */
  public NodeSession(String id, String tenant, List<Device> devices, int chunkBytes,
      long launchWaitMillis, int protocolVersion, LongSupplier clock, NodeLimits limits) {
    this(id, tenant, devices, chunkBytes, launchWaitMillis, protocolVersion, clock, limits, null);
  }

  /**
   * @param watchdog runs the launch deadline ({@link NodeLimits#launchDeadline}): a launch, or a wait
   *     for one, past it aborts the session's contexts; null: no deadline
   */
  public NodeSession(String id, String tenant, List<Device> devices, int chunkBytes,
      long launchWaitMillis, int protocolVersion, LongSupplier clock, NodeLimits limits,
      ScheduledExecutorService watchdog) {
    this.watchdog = watchdog;
    this.limits = limits;
    this.protocolVersion = protocolVersion;
    this.clock = clock;
    this.id = id;
    this.tenant = tenant;
    this.devices = List.copyOf(devices);
    this.chunkBytes = chunkBytes;
    this.launchWaitNanos = TimeUnit.MILLISECONDS.toNanos(launchWaitMillis);
  }

  public String id() {
    return id;
  }

  public String tenant() {
    return tenant;
  }

  public List<Device> devices() {
    return devices;
  }

  public long opsExecuted() {
    return opsExecuted.get();
  }

  public long opsFailed() {
    return opsFailed.get();
  }

  /**
   * Executes one op and delivers its replies. Returns false when the session has ended (after Close,
   * or a fatal error): the caller then ends the stream.
   */
  public boolean execute(Op op, ReplySink sink) {
    if (aborted != null && !closed) {
      close();
    }
    if (closed) {
      sink.reply(error(op.getSeq(), Code.FAILED_PRECONDITION, opName(op),
          opName(op) + " (seq " + op.getSeq() + "): the session is closed", true));
      return false;
    }
    opsExecuted.incrementAndGet();
    try {
      checkSeq(op);
      switch (op.getKindCase()) {
        case ALLOC -> alloc(op.getSeq(), op.getAlloc());
        case FREE -> free(op.getSeq(), op.getFree());
        case WRITE -> write(op.getSeq(), op.getWrite());
        case FILL -> fill(op.getSeq(), op.getFill());
        case READ -> read(op.getSeq(), op.getRead(), sink);
        case LOAD_MODULE -> loadModule(op.getSeq(), op.getLoadModule());
        case LAUNCH -> launch(op.getSeq(), op.getLaunch());
        case COPY -> copy(checkVersion(op).getSeq(), op.getCopy());
        case MEMSET -> memset(checkVersion(op).getSeq(), op.getMemset());
        case LAUNCH_RAW -> launchRaw(checkVersion(op).getSeq(), op.getLaunchRaw());
        case GET_GLOBAL -> getGlobal(checkVersion(op).getSeq(), op.getGetGlobal(), sink);
        case EVENT_RECORD -> eventRecord(checkVersion(op).getSeq(), op.getEventRecord());
        case EVENT_ELAPSED -> eventElapsed(checkVersion(op).getSeq(), op.getEventElapsed(), sink);
        case EVENT_FREE -> eventFree(checkVersion(op).getSeq(), op.getEventFree());
        case UNREPLAYABLE -> checkVersion(op); // For gateways: a node has nothing to rebuild.
        case SYNCHRONIZE -> {
          synchronizeAll(op.getSeq(), "synchronize");
          sink.reply(Reply.newBuilder().setSeq(op.getSeq())
              .setSynchronized(Synchronized.newBuilder().setFailedOps(opsFailed.get())).build());
        }
        case CLOSE -> {
          close();
          sink.reply(Reply.newBuilder().setSeq(op.getSeq()).setClosed(Closed.getDefaultInstance()).build());
          return false;
        }
        case OPEN -> throw new OpException(Code.INVALID_ARGUMENT,
            "open (seq " + op.getSeq() + "): the session " + id + " is already open");
        case KIND_NOT_SET -> throw new OpException(Code.INVALID_ARGUMENT, op.getUnknownFields().asMap()
            .isEmpty() ? "op (seq " + op.getSeq() + ") has no operation set"
            : "op (seq " + op.getSeq() + ") is an operation this node does not know (Op field "
                + op.getUnknownFields().asMap().keySet() + "); it speaks protocol versions 1.." + V2);
      }
      return true;
    } catch (OpException e) {
      opsFailed.incrementAndGet();
      sink.reply(error(op.getSeq(), e.code(), opName(op), e.getMessage(), e.fatal()));
      if (e.fatal()) {
        close();
        return false;
      }
      return true;
    }
  }

  /**
   * Says the session has executed everything it received: a GPU turn held for its next launch is
   * handed on. Called after each frame.
   */
  public void idle() {
    for (Device d : devices) {
      d.share.pause();
    }
  }

  /** Answers a frame that could not be parsed; the session goes on. */
  public void malformed(String description, ReplySink sink) {
    refuseFrame(Code.INVALID_ARGUMENT, description, sink);
  }

  /** Answers a frame refused whole (malformed, or over a limit): none of it ran; the session goes on. */
  public void refuseFrame(Code code, String description, ReplySink sink) {
    opsFailed.incrementAndGet();
    sink.reply(error(0, code, "frame", description, false));
  }

  private void checkSeq(Op op) throws OpException {
    if (op.getSeq() <= lastSeq) {
      throw new OpException(Code.INVALID_ARGUMENT, opName(op) + " (seq " + op.getSeq()
          + "): sequence numbers must increase; the previous op had seq " + lastSeq);
    }
    lastSeq = op.getSeq();
  }

  /** Refuses an op of protocol version 2 in a session opened with version 1. */
  private Op checkVersion(Op op) throws OpException {
    if (protocolVersion < V2) {
      throw new OpException(Code.INVALID_ARGUMENT, opName(op) + " (seq " + op.getSeq() + ") needs protocol"
          + " version " + V2 + "; the session was opened with version " + protocolVersion);
    }
    return op;
  }

  private void alloc(long seq, Alloc a) throws OpException {
    String what = "alloc (seq " + seq + ")";
    if (a.getHandle() == 0) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": handle 0 is reserved");
    }
    if (buffers.containsKey(a.getHandle()) || modules.containsKey(a.getHandle())) {
      throw new OpException(Code.ALREADY_EXISTS, what + ": handle " + a.getHandle() + " is already in use");
    }
    if (a.getBytes() == 0) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": size 0 for handle " + a.getHandle()
          + "; allocations must be at least 1 byte");
    }
    Device d = device(what, a.getDevice());
    checkHandleRoom(what, a.getHandle());
    long bytes = a.getBytes();
    if (bytes < 0 || bytes > d.memoryLimit - d.memoryUsed) {
      throw new OpException(Code.RESOURCE_EXHAUSTED, what + " of " + Long.toUnsignedString(bytes)
          + " bytes for handle " + a.getHandle() + " exceeds the session's memory quota on device "
          + d.index + ": " + d.memoryUsed + " of " + d.memoryLimit + " bytes in use");
    }
    long address;
    try {
      address = d.context.allocate(bytes);
    } catch (DriverException e) {
      throw translate(what, e);
    }
    d.memoryUsed += bytes;
    buffers.put(a.getHandle(), new Buffer(a.getHandle(), d.index, address, bytes, a.getPersistent(), false));
    freedAt.remove(a.getHandle());
  }

  private void free(long seq, Free f) throws OpException {
    String what = "free (seq " + seq + ")";
    Module m = modules.remove(f.getHandle());
    if (m != null) {
      freedAt.put(f.getHandle(), seq);
      // Handles bound to its variables go with it: their memory is the module's.
      for (int i = 0; i < devices.size(); i++) {
        java.util.Set<Long> vars = new java.util.HashSet<>();
        for (ModuleGlobal g : m.perDevice.get(i).globals().values()) {
          vars.add(g.address());
        }
        int device = i;
        buffers.values().removeIf(b -> b.global && b.device == device && vars.contains(b.address));
        devices.get(i).memoryUsed -= m.charged[i];
        try {
          devices.get(i).context.unloadModule(m.perDevice.get(i));
        } catch (DriverException e) {
          throw translate(what, e);
        }
      }
      return;
    }
    Buffer b = buffer(what, f.getHandle());
    if (b.global) {
      buffers.remove(b.handle);
      freedAt.put(b.handle, seq);
      return; // The variable belongs to its module; only the handle goes.
    }
    Device d = devices.get(b.device);
    try {
      d.context.free(b.address);
    } catch (DriverException e) {
      throw translate(what, e);
    } finally {
      buffers.remove(b.handle);
      d.memoryUsed -= b.size;
      freedAt.put(b.handle, seq);
    }
  }

  private void write(long seq, Write w) throws OpException {
    String what = "write (seq " + seq + ")";
    Buffer b = buffer(what, w.getHandle());
    checkRange(what, b, w.getOffset(), w.getData().size());
    try {
      devices.get(b.device).context.write(b.address + w.getOffset(), w.getData().asReadOnlyByteBuffer());
    } catch (DriverException e) {
      throw translate(what, e);
    }
  }

  private void fill(long seq, Fill f) throws OpException {
    String what = "fill (seq " + seq + ")";
    Buffer b = buffer(what, f.getHandle());
    checkRange(what, b, f.getOffset(), f.getBytes());
    if (f.getValue() > 255) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": value " + f.getValue()
          + " is not a byte (0..255)");
    }
    try {
      devices.get(b.device).context.fill(b.address + f.getOffset(), f.getBytes(), (byte) f.getValue());
    } catch (DriverException e) {
      throw translate(what, e);
    }
  }

  private void read(long seq, Read r, ReplySink sink) throws OpException {
    String what = "read (seq " + seq + ")";
    Buffer b = buffer(what, r.getHandle());
    checkRange(what, b, r.getOffset(), r.getLength());
    DriverContext ctx = devices.get(b.device).context;
    sink.flush();
    long done = 0;
    long length = r.getLength();
    do {
      int n = (int) Math.min(chunkBytes, length - done);
      byte[] chunk = new byte[n];
      long at = b.address + r.getOffset() + done;
      try {
        guarded(devices.get(b.device), () -> ctx.read(at, ByteBuffer.wrap(chunk)));
      } catch (DriverException e) {
        throw translate(what, e);
      }
      // The array is never touched again, so the ByteString may alias it.
      ByteString data = UnsafeByteOperations.unsafeWrap(chunk);
      done += n;
      sink.reply(Reply.newBuilder().setSeq(seq).setReadData(ReadData.newBuilder()
          .setOffset(r.getOffset() + done - n).setData(data).setLast(done == length)).build());
      sink.flush();
    } while (done < length);
  }

  private void loadModule(long seq, LoadModule lm) throws OpException {
    String what = "load_module (seq " + seq + ")";
    if (lm.getModule() == 0) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": handle 0 is reserved");
    }
    if (buffers.containsKey(lm.getModule()) || modules.containsKey(lm.getModule())) {
      throw new OpException(Code.ALREADY_EXISTS, what + ": handle " + lm.getModule() + " is already in use");
    }
    if (lm.getImage().isEmpty()) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": module " + lm.getModule() + " has an empty image");
    }
    if (lm.getImage().size() > limits.maxModuleBytes()) {
      throw new OpException(Code.RESOURCE_EXHAUSTED, what + ": module " + lm.getModule() + " has an image of "
          + lm.getImage().size() + " bytes; the node loads at most " + limits.maxModuleBytes()
          + " (--max-module-bytes)");
    }
    if (modules.size() >= limits.maxModules()) {
      throw new OpException(Code.RESOURCE_EXHAUSTED, what + ": the session holds " + modules.size()
          + " modules, the most it may (--max-modules " + limits.maxModules() + "); free one first");
    }
    String name = lm.getName().isEmpty() ? "module-" + lm.getModule() : lm.getName();
    byte[] image = lm.getImage().toByteArray();
    // A module's code and variables take device memory: charged to the slice, as allocations are.
    for (Device d : devices) {
      if (image.length > d.memoryLimit - d.memoryUsed) {
        throw new OpException(Code.RESOURCE_EXHAUSTED, what + ": module " + lm.getModule() + " of " + image.length
            + " bytes exceeds the session's memory quota on device " + d.index + ": " + d.memoryUsed + " of "
            + d.memoryLimit + " bytes in use");
      }
    }
    List<LoadedModule> loaded = new ArrayList<>(devices.size());
    for (Device d : devices) {
      try {
        loaded.add(d.context.loadModule(image, name));
      } catch (DriverException e) {
        for (int i = 0; i < loaded.size(); i++) {
          try {
            devices.get(i).context.unloadModule(loaded.get(i));
          } catch (DriverException ignored) {
            // The context reports its own failure on its next call.
          }
        }
        throw translate(what + " of " + name, e);
      }
    }
    long[] charged = new long[devices.size()];
    for (int i = 0; i < devices.size(); i++) {
      charged[i] = image.length;
      for (ModuleGlobal g : loaded.get(i).globals().values()) {
        charged[i] += g.size();
      }
      devices.get(i).memoryUsed += charged[i];
    }
    modules.put(lm.getModule(), new Module(lm.getModule(), name, loaded, charged));
    freedAt.remove(lm.getModule());
  }

  /** Refuses a new buffer or variable handle past the session's handle limit. */
  private void checkHandleRoom(String what, long handle) throws OpException {
    if (buffers.size() >= limits.maxHandles()) {
      throw new OpException(Code.RESOURCE_EXHAUSTED, what + ": handle " + handle + " would be one more than"
          + " the session may hold: it holds " + buffers.size() + " buffers and variables (--max-handles "
          + limits.maxHandles() + "); free some first");
    }
  }

  private Module module(String what, long handle) throws OpException {
    Module m = modules.get(handle);
    if (m == null) {
      if (buffers.containsKey(handle)) {
        throw new OpException(Code.INVALID_ARGUMENT, what + ": handle " + handle
            + " is a buffer, not a module");
      }
      throw new OpException(Code.NOT_FOUND, what + ": unknown module handle " + handle + freedNote(handle));
    }
    return m;
  }

  private void launch(long seq, Launch l) throws OpException {
    String fn = l.getFunction();
    String what = "launch (seq " + seq + ") of " + (fn.isEmpty() ? "<no function>" : fn);
    Module m = module(what, l.getModule());
    Device d = device(what, l.getDevice());
    LoadedModule loaded = m.perDevice.get(d.index);
    if (!loaded.signatures().isEmpty() && !loaded.signatures().containsKey(fn)) {
      throw new OpException(Code.NOT_FOUND, what + ": module " + l.getModule() + " (" + m.name
          + ") has no kernel '" + fn + "'; it declares " + loaded.signatures().keySet());
    }
    Dim3 grid = dim(what, "grid", l.getGrid(), Integer.MAX_VALUE, 65535, 65535);
    Dim3 block = dim(what, "block", l.getBlock(), 1024, 1024, 64);
    if (block.volume() > 1024) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": block " + block.x() + "x" + block.y()
          + "x" + block.z() + " has " + block.volume() + " threads; at most 1024");
    }
    List<KernelArgument> args = arguments(what, d, l.getArgsList());
    String typeError = loaded.signature(fn).map(sig -> signatureMismatch(sig, args)).orElse(null);
    if (typeError != null) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": " + typeError);
    }
    onGpu(what, d, () -> d.context.launch(loaded, fn, grid, block, l.getSharedMemoryBytes(), args));
  }

  /** A kernel launch, as the driver is asked for it. */
  private interface KernelRun {
    void run() throws DriverException;
  }

  /**
   * Runs a driver call that may wait for a kernel (a launch, a synchronize, a read) under the launch
   * deadline: past it, the watchdog aborts the device's context, which ends the wait with a kernel
   * fault, and the session with it.
   */
  private void guarded(Device d, KernelRun call) throws DriverException {
    java.time.Duration deadline = limits.launchDeadline();
    if (watchdog == null || deadline.isZero()) {
      call.run();
      return;
    }
    ScheduledFuture<?> dog;
    try {
      dog = watchdog.schedule(() -> d.context.abort("it ran past the launch deadline of "
          + deadline.toMillis() + " ms (--launch-deadline " + deadline + ")"), deadline.toMillis(),
          TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      call.run(); // the node is shutting down
      return;
    }
    try {
      call.run();
    } finally {
      dog.cancel(false);
    }
  }

  /**
   * Stops whatever the session runs now, from any thread, without waiting for it (the client went away):
   * its contexts are aborted, so a kernel that would never end does not hold the card, and the session
   * executes nothing more. The owner still calls {@link #close} (on the session's thread) and frees the
   * slice.
   */
  public void abort(String why) {
    aborted = why;
    for (Device d : devices) {
      d.context.abort(why);
    }
  }

  /** Runs a launch in the session's turn on the GPU (at once if it is alone there). */
  private void onGpu(String what, Device d, KernelRun launch) throws OpException {
    if (d.share.alone()) {
      // Alone on the GPU: no turn to wait for, and the launch stays asynchronous, as in CUDA.
      long start = System.nanoTime();
      try {
        guarded(d, launch);
      } catch (DriverException e) {
        throw translate(what, e);
      } finally {
        d.share.charge(System.nanoTime() - start);
      }
      return;
    }
    try {
      if (!d.share.acquire(launchWaitNanos)) {
        throw new OpException(Code.UNAVAILABLE, what + ": the GPU was busy for longer than "
            + TimeUnit.NANOSECONDS.toMillis(launchWaitNanos) + " ms");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OpException(Code.CANCELLED, what + ": interrupted while waiting for the GPU");
    }
    long start = System.nanoTime();
    try {
      guarded(d, () -> {
        launch.run();
        // Others share this GPU: wait for the kernel so the share is charged its real duration.
        d.context.synchronize();
      });
    } catch (DriverException e) {
      throw translate(what, e);
    } finally {
      d.share.release(System.nanoTime() - start);
    }
  }

  private void copy(long seq, Copy c) throws OpException {
    String what = "copy (seq " + seq + ")";
    Buffer dst = buffer(what + " destination", c.getDst());
    Buffer src = buffer(what + " source", c.getSrc());
    if (c.getBytes() == 0) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": 0 bytes from handle " + src.handle + " to handle "
          + dst.handle + "; a copy must move at least 1 byte");
    }
    checkRange(what + " destination", dst, c.getDstOffset(), c.getBytes());
    checkRange(what + " source", src, c.getSrcOffset(), c.getBytes());
    if (dst.device != src.device) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": source handle " + src.handle + " is on device "
          + src.device + " and destination handle " + dst.handle + " on device " + dst.device
          + "; a copy stays on one device");
    }
    try {
      devices.get(dst.device).context.copy(dst.address + c.getDstOffset(), src.address + c.getSrcOffset(),
          c.getBytes());
    } catch (DriverException e) {
      throw translate(what, e);
    }
  }

  private void memset(long seq, Memset m) throws OpException {
    String what = "memset (seq " + seq + ")";
    Buffer b = buffer(what, m.getHandle());
    int width = m.getWidth();
    if (width != 1 && width != 2 && width != 4) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": width " + Integer.toUnsignedString(width)
          + " is not 1, 2 or 4");
    }
    long count = m.getCount();
    // Unsigned from the wire: a count with the top bit set, or one whose bytes overflow, overruns anything.
    if (count == 0 || count < 0 || count > Long.MAX_VALUE / width) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": count " + Long.toUnsignedString(count)
          + " of width " + width + " for handle " + b.handle + (count == 0 ? " sets nothing" : " overflows"));
    }
    checkRange(what, b, m.getOffset(), count * width);
    if (m.getOffset() % width != 0) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": offset " + m.getOffset() + " of handle "
          + b.handle + " is not a multiple of width " + width);
    }
    if (width < 4 && Integer.toUnsignedLong(m.getValue()) >= 1L << (8 * width)) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": value " + Integer.toUnsignedString(m.getValue())
          + " does not fit in width " + width);
    }
    try {
      devices.get(b.device).context.memset(b.address + m.getOffset(), width, m.getValue(), count);
    } catch (DriverException e) {
      throw translate(what, e);
    }
  }

  private void launchRaw(long seq, LaunchRaw l) throws OpException {
    String fn = l.getFunction();
    String what = "launch_raw (seq " + seq + ") of " + (fn.isEmpty() ? "<no function>" : fn);
    Module m = module(what, l.getModule());
    Device d = device(what, l.getDevice());
    LoadedModule loaded = m.perDevice.get(d.index);
    KernelSignature sig = loaded.signatures().get(fn);
    if (sig == null) {
      throw new OpException(loaded.signatures().isEmpty() ? Code.INVALID_ARGUMENT : Code.NOT_FOUND, what
          + ": module " + l.getModule() + " (" + m.name + ") " + (loaded.signatures().isEmpty()
              ? "declares no parameter layouts (a cubin image?), which a raw launch needs: load it as PTX"
              : "has no kernel '" + fn + "'; it declares " + loaded.signatures().keySet()));
    }
    Dim3 grid = dim(what, "grid", l.getGrid(), Integer.MAX_VALUE, 65535, 65535);
    Dim3 block = dim(what, "block", l.getBlock(), 1024, 1024, 64);
    if (block.volume() > 1024) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": block " + block.x() + "x" + block.y()
          + "x" + block.z() + " has " + block.volume() + " threads; at most 1024");
    }
    int size = l.getParams().size();
    if (size != sig.paramBytes()) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": params has " + size + " bytes; the kernel's"
          + " parameters take " + sig.paramBytes() + " " + layout(sig));
    }
    ByteBuffer params = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    l.getParams().copyTo(params);
    params.flip();
    java.util.BitSet taken = new java.util.BitSet(size);
    for (int i = 0; i < l.getPointersCount(); i++) {
      PointerSlot p = l.getPointers(i);
      long at = Integer.toUnsignedLong(p.getParamOffset());
      String slot = "pointer slot " + i + " at param offset " + at;
      if (at > size - 8L) {
        throw new OpException(Code.INVALID_ARGUMENT, what + ": " + slot + " does not fit in the " + size
            + "-byte parameter buffer");
      }
      String misplaced = slotMisplaced(sig, (int) at);
      if (misplaced != null) {
        throw new OpException(Code.INVALID_ARGUMENT, what + ": " + slot + " " + misplaced);
      }
      if (taken.get((int) at, (int) at + 8).cardinality() > 0) {
        throw new OpException(Code.INVALID_ARGUMENT, what + ": " + slot + " overlaps another slot");
      }
      taken.set((int) at, (int) at + 8);
      Buffer b = buffers.get(p.getHandle());
      if (b == null) {
        throw new OpException(Code.NOT_FOUND, what + ": " + slot + " names unknown handle " + p.getHandle()
            + freedNote(p.getHandle()));
      }
      if (b.device != d.index) {
        throw new OpException(Code.INVALID_ARGUMENT, what + ": " + slot + " is handle " + b.handle
            + " on device " + b.device + ", but the kernel runs on device " + d.index);
      }
      long off = p.getHandleOffset();
      if (off < 0 || off > b.size) {
        throw new OpException(Code.INVALID_ARGUMENT, what + ": " + slot + " points at offset "
            + Long.toUnsignedString(off) + " of handle " + b.handle + " (size " + b.size + ")");
      }
      params.putLong((int) at, b.address + off);
    }
    onGpu(what, d, () -> d.context.launchRaw(loaded, fn, grid, block, l.getSharedMemoryBytes(),
        params.duplicate()));
  }

  /** Null if an 8-byte pointer fits at {@code at} of the kernel's parameters, else where it lands. */
  private static String slotMisplaced(KernelSignature sig, int at) {
    for (KernelSignature.Param p : sig.layout()) {
      if (at < p.offset() || at >= p.offset() + p.size()) {
        continue;
      }
      if ((p.type() == KernelSignature.ParamType.B64 || p.type() == KernelSignature.ParamType.W64)
          && p.offset() == at && p.size() == 8) {
        return null;
      }
      if (p.type() == KernelSignature.ParamType.BYTES && at + 8 <= p.offset() + p.size() && at % 8 == 0) {
        return null;
      }
      return "lands in parameter " + p.name() + " (" + p.type().name().toLowerCase() + ", " + p.size()
          + " bytes at offset " + p.offset() + "): a pointer goes in an 8-byte b64 parameter, or 8-aligned"
          + " inside a byte-array parameter";
    }
    return "lands in padding between the kernel's parameters " + layout(sig);
  }

  private static String layout(KernelSignature sig) {
    StringBuilder b = new StringBuilder("[");
    for (KernelSignature.Param p : sig.layout()) {
      if (b.length() > 1) {
        b.append(", ");
      }
      b.append(p.name()).append(' ').append(p.type().name().toLowerCase()).append('@').append(p.offset())
          .append('+').append(p.size());
    }
    return b.append(']').toString();
  }

  private void getGlobal(long seq, GetGlobal g, ReplySink sink) throws OpException {
    String what = "get_global (seq " + seq + ") of " + (g.getName().isEmpty() ? "<no name>" : g.getName());
    if (g.getHandle() == 0) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": handle 0 is reserved");
    }
    if (buffers.containsKey(g.getHandle()) || modules.containsKey(g.getHandle())) {
      throw new OpException(Code.ALREADY_EXISTS, what + ": handle " + g.getHandle() + " is already in use");
    }
    Module m = module(what, g.getModule());
    Device d = device(what, g.getDevice());
    checkHandleRoom(what, g.getHandle());
    Map<String, ModuleGlobal> globals = m.perDevice.get(d.index).globals();
    ModuleGlobal v = globals.get(g.getName());
    if (v == null) {
      throw new OpException(Code.NOT_FOUND, what + ": module " + g.getModule() + " (" + m.name
          + ") has no .global or .const variable '" + g.getName() + "'; it declares " + globals.keySet());
    }
    buffers.put(g.getHandle(), new Buffer(g.getHandle(), d.index, v.address(), v.size(), false, true));
    freedAt.remove(g.getHandle());
    sink.reply(Reply.newBuilder().setSeq(seq).setGlobalInfo(GlobalInfo.newBuilder().setSize(v.size())).build());
  }

  private void eventRecord(long seq, EventRecord r) throws OpException {
    String what = "event_record (seq " + seq + ")";
    long event = r.getEvent();
    if (event == 0) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": event 0 is reserved");
    }
    if (!events.containsKey(event) && events.size() >= MAX_EVENTS) {
      throw new OpException(Code.RESOURCE_EXHAUSTED, what + ": the session holds " + MAX_EVENTS
          + " events, the most it may; free some (event_free)");
    }
    long at = REPLAYED;
    if (!r.getReplayed()) {
      synchronizeAll(seq, "event_record");
      at = clock.getAsLong();
    }
    events.put(event, at);
    eventFreedAt.remove(event);
  }

  private void eventElapsed(long seq, EventElapsed e, ReplySink sink) throws OpException {
    String what = "event_elapsed (seq " + seq + ")";
    long start = recorded(what, e.getStart());
    long end = recorded(what, e.getEnd());
    if (start == REPLAYED || end == REPLAYED) {
      throw new OpException(Code.ABORTED, what + ": event " + (start == REPLAYED ? e.getStart() : e.getEnd())
          + " was recorded before a gateway moved the session to this GPU; times taken on two GPUs do not"
          + " compare (record it again)");
    }
    float ms = (float) ((end - start) / 1e6);
    sink.reply(Reply.newBuilder().setSeq(seq).setElapsed(Elapsed.newBuilder().setMilliseconds(ms)).build());
  }

  private long recorded(String what, long event) throws OpException {
    Long at = events.get(event);
    if (at == null) {
      Long freed = eventFreedAt.get(event);
      throw new OpException(Code.NOT_FOUND, what + ": event " + event + (freed != null
          ? " was freed at seq " + freed : " was never recorded in this session"));
    }
    return at;
  }

  private void eventFree(long seq, EventFree f) throws OpException {
    String what = "event_free (seq " + seq + ")";
    Long freed = eventFreedAt.get(f.getEvent());
    if (freed != null) {
      throw new OpException(Code.NOT_FOUND, what + ": event " + f.getEvent() + " was freed at seq " + freed);
    }
    // Events are created by the client without an op, so one never recorded is freed without complaint.
    events.remove(f.getEvent());
    eventFreedAt.put(f.getEvent(), seq);
  }

  private static String signatureMismatch(KernelSignature sig, List<KernelArgument> args) {
    if (sig.params().size() != args.size()) {
      return args.size() + " arguments given; the kernel declares " + sig.params().size()
          + " " + sig.params();
    }
    for (int i = 0; i < args.size(); i++) {
      KernelSignature.ParamType p = sig.params().get(i);
      if (!p.accepts(args.get(i))) {
        return "argument " + i + " is " + args.get(i).typeName() + "; the kernel declares "
            + p.name().toLowerCase() + " (" + expected(p) + ")";
      }
    }
    return null;
  }

  private static String expected(KernelSignature.ParamType p) {
    return switch (p) {
      case B64 -> "ptr or i64";
      case B32 -> "i32";
      case F32 -> "f32";
      case F64 -> "f64";
      case OTHER, BYTES -> "any";
      case W32 -> "i32 or f32";
      case W64 -> "ptr, i64 or f64";
    };
  }

  private List<KernelArgument> arguments(String what, Device d, List<KernelArg> wire) throws OpException {
    List<KernelArgument> out = new ArrayList<>(wire.size());
    for (int i = 0; i < wire.size(); i++) {
      KernelArg a = wire.get(i);
      switch (a.getValueCase()) {
        case PTR -> {
          Buffer b = buffers.get(a.getPtr().getHandle());
          if (b == null) {
            throw new OpException(Code.NOT_FOUND, what + ": argument " + i + " names unknown handle "
                + a.getPtr().getHandle() + freedNote(a.getPtr().getHandle()));
          }
          if (b.device != d.index) {
            throw new OpException(Code.INVALID_ARGUMENT, what + ": argument " + i + " is handle "
                + b.handle + " on device " + b.device + ", but the kernel runs on device " + d.index);
          }
          long off = a.getPtr().getOffset();
          // [0, size]: the size itself is an end pointer, which a kernel may take and not dereference
          // (docs/protocol.md); what a kernel reads or writes through any pointer is its own to bound.
          if (off < 0 || off > b.size) {
            throw new OpException(Code.INVALID_ARGUMENT, what + ": argument " + i + " points at offset "
                + Long.toUnsignedString(off) + " of handle " + b.handle + " (size " + b.size + ")");
          }
          out.add(new KernelArgument.Pointer(b.address + off));
        }
        case I32 -> out.add(new KernelArgument.I32(a.getI32()));
        case I64 -> out.add(new KernelArgument.I64(a.getI64()));
        case F32 -> out.add(new KernelArgument.F32(a.getF32()));
        case F64 -> out.add(new KernelArgument.F64(a.getF64()));
        case VALUE_NOT_SET -> throw new OpException(Code.INVALID_ARGUMENT, what + ": argument " + i
            + " has no value");
      }
    }
    return out;
  }

  private static Dim3 dim(String what, String name, io.spillway.protocol.v1.Dim3 d, int maxX, int maxY,
      int maxZ) throws OpException {
    long x = Integer.toUnsignedLong(d.getX());
    long y = d.getY() == 0 ? 1 : Integer.toUnsignedLong(d.getY());
    long z = d.getZ() == 0 ? 1 : Integer.toUnsignedLong(d.getZ());
    if (x < 1 || x > maxX || y > maxY || z > maxZ) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": " + name + " " + x + "x" + y + "x" + z
          + " is out of range (x 1.." + maxX + ", y 1.." + maxY + ", z 1.." + maxZ + ")");
    }
    return new Dim3((int) x, (int) y, (int) z);
  }

  private void synchronizeAll(long seq, String op) throws OpException {
    for (Device d : devices) {
      try {
        guarded(d, d.context::synchronize);
      } catch (DriverException e) {
        throw translate(op + " (seq " + seq + ")", e);
      }
    }
  }

  private Device device(String what, int index) throws OpException {
    if (index < 0 || index >= devices.size()) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": device " + Integer.toUnsignedString(index)
          + " is not in the session's slice (devices 0.." + (devices.size() - 1) + ")");
    }
    return devices.get(index);
  }

  private Buffer buffer(String what, long handle) throws OpException {
    Buffer b = buffers.get(handle);
    if (b == null) {
      if (modules.containsKey(handle)) {
        throw new OpException(Code.INVALID_ARGUMENT, what + ": handle " + handle
            + " is a module, not a buffer");
      }
      throw new OpException(Code.NOT_FOUND, what + ": unknown handle " + handle + freedNote(handle));
    }
    return b;
  }

  private String freedNote(long handle) {
    Long at = freedAt.get(handle);
    return at == null ? "" : " (it was freed at seq " + at + ")";
  }

  private static void checkRange(String what, Buffer b, long offset, long length) throws OpException {
    // Unsigned values from the wire: anything with the top bit set is out of range.
    if (offset < 0 || length < 0 || offset > b.size || length > b.size - offset) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": " + Long.toUnsignedString(length)
          + " bytes at offset " + Long.toUnsignedString(offset) + " overrun handle " + b.handle
          + " (size " + b.size + ")");
    }
  }

  private static OpException translate(String what, DriverException e) {
    return switch (e.kind()) {
      case OUT_OF_MEMORY -> new OpException(Code.RESOURCE_EXHAUSTED, what + ": " + e.getMessage());
      case INVALID -> new OpException(Code.INVALID_ARGUMENT, what + ": " + e.getMessage());
      case UNIMPLEMENTED -> new OpException(Code.UNIMPLEMENTED, what + ": " + e.getMessage());
      case KERNEL_FAULT -> new OpException(Code.FAILED_PRECONDITION, what + ": " + e.getMessage()
          + "; the session's context is lost", true);
      case DEVICE -> new OpException(Code.INTERNAL, what + ": " + e.getMessage(), true);
    };
  }

  private static Reply error(long seq, Code code, String op, String description, boolean fatal) {
    return Reply.newBuilder().setSeq(seq).setError(Error.newBuilder().setCode(code.value())
        .setDescription(description).setOp(op).setFatal(fatal)).build();
  }

  static String opName(Op op) {
    return switch (op.getKindCase()) {
      case KIND_NOT_SET -> "op";
      default -> op.getKindCase().name().toLowerCase();
    };
  }

  /** Frees every context; idempotent. Memory quotas and scheduler shares are returned by the owner. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Device d : devices) {
      d.context.close();
      d.share.close();
      d.memoryUsed = 0;
    }
    buffers.clear();
    modules.clear();
    events.clear();
  }

  public boolean isClosed() {
    return closed;
  }
}
