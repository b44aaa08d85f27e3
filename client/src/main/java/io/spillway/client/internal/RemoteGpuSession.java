package io.spillway.client.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Channel;
import io.spillway.client.DeviceBuffer;
import io.spillway.client.DeviceInfo;
import io.spillway.client.Dim3;
import io.spillway.client.GpuEvent;
import io.spillway.client.GpuSession;
import io.spillway.client.KernelArg;
import io.spillway.client.SessionNotice;
import io.spillway.client.Module;
import io.spillway.client.PointerSlot;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Close;
import io.spillway.protocol.v1.Copy;
import io.spillway.protocol.v1.DevicePointer;
import io.spillway.protocol.v1.EventElapsed;
import io.spillway.protocol.v1.EventFree;
import io.spillway.protocol.v1.EventRecord;
import io.spillway.protocol.v1.Fill;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.GetGlobal;
import io.spillway.protocol.v1.Launch;
import io.spillway.protocol.v1.LaunchRaw;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Memset;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.Placement;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.ReadData;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Write;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@link GpuSession} over a {@link SessionStream}: checks arguments, chooses handles, splits bulk data into
 * chunks and translates the public types to the protocol. Same threading rule as the interface: one caller
 * thread at a time; only {@link #devices} is written from gRPC's threads (on a Notice).
 */
public final class RemoteGpuSession implements GpuSession {

  /** The session protocol version this SDK speaks (2: copy, memset, raw launches, globals, events). */
  static final int PROTOCOL_VERSION = io.spillway.protocol.SessionProtocol.VERSION;
  /** Chunk size when the server advises none. */
  static final int DEFAULT_CHUNK_BYTES = 1 << 20;
  /** Room left in a frame for a Write op's own fields when a chunk is capped by max_frame_bytes. */
  private static final int WRITE_OP_OVERHEAD_BYTES = 64;

  private final SessionStream stream;
  private final SpillwayClient.Options options;
  private final String sessionId;
  private final int chunkBytes;
  /** Handles of modules loaded from the Spillway kernel library's own PTX. */
  /** Per module handle, the pointer access its image declares (ModuleDescriptor); absent: none. */
  private final Map<Long, Map<String, List<KernelArg.Access>>> declaredAccess = new java.util.HashMap<>();

  /** Set from Opened, replaced on gRPC's thread by each Notice that lists devices. */
  private final AtomicReference<List<DeviceInfo>> devices;
  private long nextHandle = 1;
  private int nextEvent = 1;

  private RemoteGpuSession(SessionStream stream, SpillwayClient.Options options, Opened opened,
               AtomicReference<List<DeviceInfo>> devices) {
    this.stream = stream;
    this.options = options;
    this.sessionId = opened.getSessionId();
    // A Notice handled between Opened and here is newer than Opened: keep it.
    devices.compareAndSet(null, toDevices(opened.getDevicesList()));
    this.devices = devices;
    int chunk = opened.getChunkBytes() > 0 ? opened.getChunkBytes() : DEFAULT_CHUNK_BYTES;
    if (opened.getMaxFrameBytes() > 0) {
      stream.setMaxFrameBytes(opened.getMaxFrameBytes());
      chunk = Math.min(chunk, Math.max(1, opened.getMaxFrameBytes() - WRITE_OP_OVERHEAD_BYTES));
    }
    this.chunkBytes = chunk;
  }

  /**
   * Opens a session on {@code channel} whose notices go to {@code listener} (on gRPC's threads, after
   * {@link GpuSession#devices()} changed); blocks until the server placed it or refused.
   */
  public static GpuSession open(Channel channel, SliceRequest request, SpillwayClient.Options options,
      java.util.function.Consumer<SessionNotice> listener) {
    AtomicReference<List<DeviceInfo>> devices = new AtomicReference<>();
    AtomicReference<String> id = new AtomicReference<>("");
    SessionStream stream = new SessionStream(channel, options.replyTimeout(), notice -> {
      if (notice.getDevicesCount() > 0) {
        devices.set(toDevices(notice.getDevicesList()));
      }
      try {
        listener.accept(new SessionNotice(id.get(), notice.getMessage(),
            notice.getDevicesCount() > 0 ? devices.get() : List.of()));
      } catch (RuntimeException e) {
        // A listener's failure must not break the session's stream.
        System.getLogger(RemoteGpuSession.class.getName()).log(System.Logger.Level.WARNING,
            "notice listener failed", e);
      }
    });
    Reply reply;
    try {
      reply = stream.open(Op.newBuilder().setOpen(toOpen(request)), options.openTimeout());
    } catch (RuntimeException e) {
      stream.cancel("open failed");
      throw e;
    }
    if (reply.getKindCase() != Reply.KindCase.OPENED) {
      stream.cancel("open answered with " + reply.getKindCase());
      throw new SpillwayException(io.grpc.Status.Code.INTERNAL, reply.getSeq(), "open",
          "server answered open with " + reply.getKindCase() + " instead of opened");
    }
    id.set(reply.getOpened().getSessionId());
    return new RemoteGpuSession(stream, options, reply.getOpened(), devices);
  }

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public List<DeviceInfo> devices() {
    return devices.get();
  }

  @Override
  public DeviceBuffer alloc(long bytes) {
    return alloc(bytes, 0, false);
  }

  @Override
  public DeviceBuffer alloc(long bytes, int device) {
    return alloc(bytes, device, false);
  }

  @Override
  public DeviceBuffer allocPersistent(long bytes) {
    return alloc(bytes, 0, true);
  }

  @Override
  public DeviceBuffer allocPersistent(long bytes, int device) {
    return alloc(bytes, device, true);
  }

  private DeviceBuffer alloc(long bytes, int device, boolean persistent) {
    if (bytes < 1) {
      throw new IllegalArgumentException("alloc bytes=" + bytes + " is invalid: expected at least 1");
    }
    checkDevice("alloc", device);
    long handle = nextHandle;
    stream.append(Op.newBuilder().setAlloc(Alloc.newBuilder()
        .setHandle(handle).setBytes(bytes).setDevice(device).setPersistent(persistent)));
    nextHandle++;
    return new DeviceBuffer(handle, bytes, device, persistent);
  }

  @Override
  public void write(DeviceBuffer buffer, long offset, ByteBuffer data) {
    Objects.requireNonNull(data, "data");
    checkRange("write", buffer, offset, data.remaining());
    long at = offset;
    while (data.hasRemaining()) {
      int n = Math.min(chunkBytes, data.remaining());
      // copyFrom consumes n bytes: the caller may reuse its buffer as soon as we return.
      appendWrite(buffer, at, ByteString.copyFrom(data, n));
      at += n;
    }
  }

  @Override
  public void write(DeviceBuffer buffer, long offset, byte[] data) {
    Objects.requireNonNull(data, "data");
    checkRange("write", buffer, offset, data.length);
    for (int pos = 0; pos < data.length; pos += chunkBytes) {
      int n = Math.min(chunkBytes, data.length - pos);
      appendWrite(buffer, offset + pos, ByteString.copyFrom(data, pos, n));
    }
  }

  @Override
  public void write(DeviceBuffer buffer, long offset, float[] data) {
    Objects.requireNonNull(data, "data");
    checkRange("write", buffer, offset, 4L * data.length);
    int floatsPerChunk = Math.max(1, chunkBytes / Float.BYTES);
    for (int i = 0; i < data.length; i += floatsPerChunk) {
      int n = Math.min(floatsPerChunk, data.length - i);
      byte[] bytes = new byte[n * Float.BYTES];
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(data, i, n);
      // The array is ours and never changes again, so it can be wrapped rather than copied once more.
      appendWrite(buffer, offset + (long) i * Float.BYTES, UnsafeByteOperations.unsafeWrap(bytes));
    }
  }

  private void appendWrite(DeviceBuffer buffer, long offset, ByteString data) {
    stream.append(Op.newBuilder().setWrite(Write.newBuilder()
        .setHandle(buffer.handle()).setOffset(offset).setData(data)));
  }

  @Override
  public void upload(DeviceBuffer buffer, float[] data) {
    write(buffer, 0, data);
  }

  @Override
  public void fill(DeviceBuffer buffer, long offset, long bytes, int value) {
    checkRange("fill", buffer, offset, bytes);
    if (value < 0 || value > 0xFF) {
      throw new IllegalArgumentException("fill value=" + value + " is invalid: expected 0..255");
    }
    stream.append(Op.newBuilder().setFill(Fill.newBuilder()
        .setHandle(buffer.handle()).setOffset(offset).setBytes(bytes).setValue(value)));
  }

  @Override
  public byte[] read(DeviceBuffer buffer, long offset, int length) {
    byte[] out = new byte[checkReadLength(length)];
    read(buffer, offset, ByteBuffer.wrap(out));
    return out;
  }

  @Override
  public void read(DeviceBuffer buffer, long offset, ByteBuffer dst) {
    Objects.requireNonNull(dst, "dst");
    int length = dst.remaining();
    checkRange("read", buffer, offset, length);
    List<Reply> replies = stream.call(Op.newBuilder().setRead(Read.newBuilder()
        .setHandle(buffer.handle()).setOffset(offset).setLength(length)), "read", options.replyTimeout());
    assemble(replies, buffer, offset, length, dst);
  }

  /**
   * Copies the ReadData chunks into {@code dst} by their offsets (offsets in the buffer, as in Write) and
   * checks that they cover the requested range exactly once.
   */
  private static void assemble(List<Reply> replies, DeviceBuffer buffer, long offset, int length, ByteBuffer dst) {
    List<ReadData> chunks = new ArrayList<>(replies.size());
    for (Reply r : replies) {
      chunks.add(r.getReadData());
    }
    chunks.sort(Comparator.comparingLong(ReadData::getOffset));
    int base = dst.position();
    long expected = offset;
    for (ReadData c : chunks) {
      if (c.getData().isEmpty()) {
        continue;
      }
      long end = c.getOffset() + c.getData().size();
      if (c.getOffset() != expected || end > offset + length) {
        throw badRead(buffer, offset, length, "chunk [" + c.getOffset() + ", " + end + ")");
      }
      c.getData().copyTo(dst.duplicate().position(base + (int) (c.getOffset() - offset)));
      expected = end;
    }
    if (expected != offset + length) {
      throw badRead(buffer, offset, length, "data up to " + expected);
    }
    dst.position(base + length);
  }

  private static SpillwayException badRead(DeviceBuffer buffer, long offset, int length, String got) {
    return new SpillwayException(io.grpc.Status.Code.INTERNAL, 0, "read", "server answered a read of "
        + length + " bytes at offset " + offset + " of handle " + buffer.handle() + " with " + got);
  }

  @Override
  public float[] downloadFloats(DeviceBuffer buffer, int count) {
    if (count < 0) {
      throw new IllegalArgumentException("downloadFloats count=" + count + " is invalid: expected >= 0");
    }
    byte[] bytes = read(buffer, 0, checkReadLength((long) count * Float.BYTES));
    float[] out = new float[count];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  @Override
  public Module loadModule(byte[] image, String name) {
    if (image == null || image.length == 0) {
      throw new IllegalArgumentException("loadModule image is empty");
    }
    long handle = nextHandle;
    Map<String, List<KernelArg.Access>> access = ModuleDescriptor.pointerAccess(image);
    if (!access.isEmpty()) {
      declaredAccess.put(handle, access);
    }
    String moduleName = name == null || name.isBlank() ? "module-" + handle : name;
    stream.append(Op.newBuilder().setLoadModule(LoadModule.newBuilder()
        .setModule(handle).setImage(ByteString.copyFrom(image)).setName(moduleName)));
    nextHandle++;
    return new Module(handle, moduleName);
  }

  @Override
  public void launch(Module module, String function, Dim3 grid, Dim3 block, KernelArg... args) {
    launchOnDevice(0, module, function, grid, block, 0, args);
  }

  @Override
  public void launch(Module module, String function, Dim3 grid, Dim3 block, int sharedMemBytes,
             KernelArg... args) {
    launchOnDevice(0, module, function, grid, block, sharedMemBytes, args);
  }

  @Override
  public void launchOnDevice(int device, Module module, String function, Dim3 grid, Dim3 block,
                 int sharedMemBytes, KernelArg... args) {
    Objects.requireNonNull(module, "module");
    Objects.requireNonNull(grid, "grid");
    Objects.requireNonNull(block, "block");
    if (function == null || function.isEmpty()) {
      throw new IllegalArgumentException("launch function=" + function + " is invalid: expected a kernel name");
    }
    if (sharedMemBytes < 0) {
      throw new IllegalArgumentException("launch sharedMemBytes=" + sharedMemBytes + " is invalid: expected >= 0");
    }
    checkDevice("launch", device);
    checkShape(grid, block);
    Launch.Builder launch = Launch.newBuilder()
        .setModule(module.handle())
        .setFunction(function)
        .setGrid(toDim3(grid))
        .setBlock(toDim3(block))
        .setSharedMemoryBytes(sharedMemBytes)
        .setDevice(device);
    List<KernelArg.Access> declared = declaredAccess.getOrDefault(module.handle(), Map.of()).get(function);
    for (int i = 0; i < args.length; i++) {
      KernelArg arg = args[i];
      if (declared != null && i < declared.size() && arg instanceof KernelArg.Ptr p
          && p.access() == KernelArg.Access.UNSPECIFIED) {
        // The module says what its functions do with each pointer.
        arg = new KernelArg.Ptr(p.buffer(), p.offset(), declared.get(i));
      }
      launch.addArgs(toArg(arg));
    }
    stream.append(Op.newBuilder().setLaunch(launch));
  }

  @Override
  public void free(DeviceBuffer buffer) {
    Objects.requireNonNull(buffer, "buffer");
    stream.append(Op.newBuilder().setFree(Free.newBuilder().setHandle(buffer.handle())));
  }

  @Override
  public void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes) {
    checkRange("copy destination", dst, dstOffset, bytes);
    checkRange("copy source", src, srcOffset, bytes);
    if (dst.device() != src.device()) {
      throw new IllegalArgumentException("copy from handle " + src.handle() + " on device " + src.device()
          + " to handle " + dst.handle() + " on device " + dst.device() + " is invalid: both must be on one device");
    }
    stream.append(Op.newBuilder().setCopy(Copy.newBuilder().setDst(dst.handle()).setDstOffset(dstOffset)
        .setSrc(src.handle()).setSrcOffset(srcOffset).setBytes(bytes)));
  }

  @Override
  public void memset(DeviceBuffer buffer, long offset, int width, int value, long count) {
    if (width != 1 && width != 2 && width != 4) {
      throw new IllegalArgumentException("memset width=" + width + " is invalid: expected 1, 2 or 4");
    }
    if (count < 1 || count > Long.MAX_VALUE / width) {
      throw new IllegalArgumentException("memset count=" + count + " is invalid: expected at least 1");
    }
    checkRange("memset", buffer, offset, count * width);
    if (offset % width != 0) {
      throw new IllegalArgumentException("memset offset=" + offset + " is invalid: expected a multiple of width "
          + width);
    }
    if (width < 4 && (value & ~((1 << (8 * width)) - 1)) != 0) {
      throw new IllegalArgumentException("memset value=" + value + " is invalid: it does not fit in " + width
          + " byte(s)");
    }
    stream.append(Op.newBuilder().setMemset(Memset.newBuilder().setHandle(buffer.handle()).setOffset(offset)
        .setWidth(width).setValue(value).setCount(count)));
  }

  @Override
  public void launchRaw(Module module, String function, Dim3 grid, Dim3 block, int sharedMemBytes,
      byte[] params, List<PointerSlot> pointers) {
    Objects.requireNonNull(module, "module");
    Objects.requireNonNull(grid, "grid");
    Objects.requireNonNull(block, "block");
    Objects.requireNonNull(params, "params");
    Objects.requireNonNull(pointers, "pointers");
    if (function == null || function.isEmpty()) {
      throw new IllegalArgumentException("launchRaw function=" + function + " is invalid: expected a kernel name");
    }
    if (sharedMemBytes < 0) {
      throw new IllegalArgumentException("launchRaw sharedMemBytes=" + sharedMemBytes + " is invalid: expected >= 0");
    }
    checkShape(grid, block);
    LaunchRaw.Builder launch = LaunchRaw.newBuilder()
        .setModule(module.handle())
        .setFunction(function)
        .setGrid(toDim3(grid))
        .setBlock(toDim3(block))
        .setSharedMemoryBytes(sharedMemBytes)
        .setParams(ByteString.copyFrom(params));
    for (PointerSlot p : pointers) {
      Objects.requireNonNull(p, "pointer slot");
      if (p.paramOffset() > params.length - 8) {
        throw new IllegalArgumentException("launchRaw pointer slot at offset " + p.paramOffset()
            + " is invalid: it does not fit in the " + params.length + "-byte parameter buffer");
      }
      if (p.buffer().device() != 0) {
        throw new IllegalArgumentException("launchRaw pointer slot at offset " + p.paramOffset() + " is handle "
            + p.buffer().handle() + " on device " + p.buffer().device() + ", but the kernel runs on device 0");
      }
      launch.addPointers(io.spillway.protocol.v1.PointerSlot.newBuilder().setParamOffset(p.paramOffset())
          .setHandle(p.buffer().handle()).setHandleOffset(p.bufferOffset()).setAccessValue(p.access().ordinal()));
    }
    stream.append(Op.newBuilder().setLaunchRaw(launch));
  }

  @Override
  public DeviceBuffer global(Module module, String name) {
    Objects.requireNonNull(module, "module");
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("global name=" + name + " is invalid: expected a variable name");
    }
    long handle = nextHandle;
    List<Reply> replies = stream.call(Op.newBuilder().setGetGlobal(GetGlobal.newBuilder()
        .setModule(module.handle()).setName(name).setHandle(handle)), "get_global", options.replyTimeout());
    nextHandle++;
    Reply r = replies.get(0);
    if (r.getKindCase() != Reply.KindCase.GLOBAL_INFO) {
      throw new SpillwayException(io.grpc.Status.Code.INTERNAL, r.getSeq(), "get_global",
          "server answered get_global with " + r.getKindCase() + " instead of global_info");
    }
    return new DeviceBuffer(handle, r.getGlobalInfo().getSize(), 0, false);
  }

  @Override
  public GpuEvent createEvent() {
    return new Event(this, nextEvent++);
  }

  @Override
  public void record(GpuEvent event) {
    stream.append(Op.newBuilder().setEventRecord(EventRecord.newBuilder().setEvent(own("record", event))));
  }

  @Override
  public float elapsedMillis(GpuEvent start, GpuEvent end) {
    List<Reply> replies = stream.call(Op.newBuilder().setEventElapsed(EventElapsed.newBuilder()
        .setStart(own("elapsedMillis", start)).setEnd(own("elapsedMillis", end))), "event_elapsed",
        options.replyTimeout());
    Reply r = replies.get(0);
    if (r.getKindCase() != Reply.KindCase.ELAPSED) {
      throw new SpillwayException(io.grpc.Status.Code.INTERNAL, r.getSeq(), "event_elapsed",
          "server answered event_elapsed with " + r.getKindCase() + " instead of elapsed");
    }
    return r.getElapsed().getMilliseconds();
  }

  @Override
  public void free(GpuEvent event) {
    stream.append(Op.newBuilder().setEventFree(EventFree.newBuilder().setEvent(own("free", event))));
  }

  @Override
  public void forbidReplay(String reason) {
    Objects.requireNonNull(reason, "reason");
    stream.append(Op.newBuilder().setUnreplayable(io.spillway.protocol.v1.Unreplayable.newBuilder()
        .setReason(reason)));
  }

  /** The event's id, if this session created it. */
  private int own(String op, GpuEvent event) {
    Objects.requireNonNull(event, "event");
    if (!(event instanceof Event e) || e.session != this) {
      throw new IllegalArgumentException(op + " of event " + event.id() + " is invalid: it belongs to another session");
    }
    return e.id;
  }

  /** An event id of one session; identity ties it to the session that created it. */
  private record Event(RemoteGpuSession session, int id) implements GpuEvent {
    @Override
    public String toString() {
      return "GpuEvent[" + id + "]";
    }
  }

  @Override
  public void flush() {
    stream.flush();
  }

  @Override
  public void synchronize() {
    stream.call(Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance()), "synchronize",
        options.replyTimeout());
  }

  @Override
  public void close() {
    stream.close(Op.newBuilder().setClose(Close.getDefaultInstance()), options.closeTimeout());
  }

  private void checkDevice(String op, int device) {
    int count = devices.get().size();
    // A server that lists no devices still has device 0.
    if (device < 0 || device >= Math.max(1, count)) {
      throw new IllegalArgumentException(op + " device=" + device + " is invalid: the session has "
          + Math.max(1, count) + " device(s)");
    }
  }

  /** CUDA's limits for every device the pool supports; the node checks them as well. */
  private static void checkShape(Dim3 grid, Dim3 block) {
    if (grid.y() > 65535 || grid.z() > 65535) {
      throw new IllegalArgumentException("launch grid=" + grid + " is invalid: y and z must be <= 65535");
    }
    if ((long) block.x() * block.y() * block.z() > 1024) {
      throw new IllegalArgumentException("launch block=" + block + " is invalid: at most 1024 threads");
    }
  }

  private static void checkRange(String op, DeviceBuffer buffer, long offset, long bytes) {
    Objects.requireNonNull(buffer, "buffer");
    if (bytes == 0) {
      // The server refuses empty ranges too; failing here points at the caller's line.
      throw new IllegalArgumentException(op + " of 0 bytes at offset " + offset + " of handle "
          + buffer.handle() + " is invalid: expected at least 1 byte");
    }
    if (offset < 0 || bytes < 0 || offset > buffer.size() - bytes) {
      throw new IllegalArgumentException(op + " of " + bytes + " bytes at offset " + offset
          + " overruns handle " + buffer.handle() + " (size " + buffer.size() + ")");
    }
  }

  private static int checkReadLength(long length) {
    // Keeps the result within one Java array.
    if (length < 0 || length > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("read length=" + length + " is invalid: expected 0.."
          + (Integer.MAX_VALUE - 8));
    }
    return (int) length;
  }

  static Open toOpen(SliceRequest r) {
    io.spillway.protocol.v1.SliceRequest.Builder slice = io.spillway.protocol.v1.SliceRequest.newBuilder()
        .setGpuCount(r.gpuCount())
        .setComputePercent(r.computePercent())
        .addAllModels(r.models())
        .addAllExcludeModels(r.excludeModels())
        .setPlacement(switch (r.placement()) {
          case DEFAULT -> Placement.PLACEMENT_DEFAULT;
          case BINPACK -> Placement.PLACEMENT_BINPACK;
          case SPREAD -> Placement.PLACEMENT_SPREAD;
        });
    if (r.memoryBytes() > 0) {
      slice.setMemoryBytes(r.memoryBytes());
    } else if (r.memoryPercent() > 0) {
      slice.setMemoryPercent(r.memoryPercent());
    }
    return Open.newBuilder()
        .setProtocolVersion(PROTOCOL_VERSION)
        .setTenant(r.tenant())
        .setSlice(slice)
        .setClientName(r.clientName())
        .build();
  }

  private static io.spillway.protocol.v1.Dim3 toDim3(Dim3 d) {
    return io.spillway.protocol.v1.Dim3.newBuilder().setX(d.x()).setY(d.y()).setZ(d.z()).build();
  }

  private static io.spillway.protocol.v1.KernelArg toArg(KernelArg arg) {
    io.spillway.protocol.v1.KernelArg.Builder b = io.spillway.protocol.v1.KernelArg.newBuilder();
    if (arg instanceof KernelArg.Ptr p) {
      b.setPtr(DevicePointer.newBuilder().setHandle(p.buffer().handle()).setOffset(p.offset())
          .setAccessValue(p.access().ordinal()));
    } else if (arg instanceof KernelArg.I32 v) {
      b.setI32(v.value());
    } else if (arg instanceof KernelArg.I64 v) {
      b.setI64(v.value());
    } else if (arg instanceof KernelArg.F32 v) {
      b.setF32(v.value());
    } else if (arg instanceof KernelArg.F64 v) {
      b.setF64(v.value());
    } else {
      throw new IllegalArgumentException("launch argument is null");
    }
    return b.build();
  }

  private static List<DeviceInfo> toDevices(List<io.spillway.protocol.v1.DeviceInfo> infos) {
    List<DeviceInfo> out = new ArrayList<>(infos.size());
    for (io.spillway.protocol.v1.DeviceInfo d : infos) {
      out.add(new DeviceInfo(d.getIndex(), d.getPool(), d.getNode(), d.getGpuUuid(), d.getModel(),
          d.getMemoryLimitBytes(), d.getComputePercent(), d.getCardMemoryBytes(), d.getDriver()));
    }
    return List.copyOf(out);
  }
}
