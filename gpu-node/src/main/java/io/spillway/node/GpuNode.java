package io.spillway.node;

import io.grpc.Status;
import io.grpc.Status.Code;
import io.spillway.node.driver.DriverContext;
import io.spillway.node.driver.DriverException;
import io.spillway.node.driver.GpuDevice;
import io.spillway.node.driver.GpuDriver;
import io.spillway.node.schedule.FairShareScheduler;
import io.spillway.node.session.NodeSession;
import io.spillway.node.session.OpException;
import io.spillway.node.slice.SliceTable;
import io.spillway.protocol.SessionProtocol;
import io.spillway.protocol.v1.DeviceInfo;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.SliceRequest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A GPU node: its driver, the slices on its cards, one fair-share scheduler per card, and the open
 * sessions. Framework-free; {@code GpuNodeService} adapts it to gRPC.
 */
public final class GpuNode implements AutoCloseable {

  /** The newest session protocol version this node speaks; it also accepts every older one. */
  public static final int PROTOCOL_VERSION = SessionProtocol.VERSION;

  /** A session that was admitted, with the answer to send. */
  public record Admitted(NodeSession session, Opened opened) {}

  private final NodeOptions options;
  private final GpuDriver driver;
  private final SliceTable slices;
  private final Map<String, FairShareScheduler> schedulers = new HashMap<>();
  private final Map<String, NodeSession> sessions = new ConcurrentHashMap<>();
  private final Map<String, List<SliceTable.Slice>> sessionSlices = new ConcurrentHashMap<>();
  /** Runs launch deadlines: its tasks only abort a context, never block. */
  private final java.util.concurrent.ScheduledExecutorService watchdog =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "spillway-launch-watchdog");
        t.setDaemon(true);
        return t;
      });

  public GpuNode(NodeOptions options, GpuDriver driver) {
    this.options = options;
    this.driver = driver;
    this.slices = new SliceTable(driver.devices(), options.reserveBytes(),
        options.limits().maxSessionsPerCard());
    for (GpuDevice g : driver.devices()) {
      schedulers.put(g.uuid(), new FairShareScheduler(g.uuid()));
    }
  }

  public NodeOptions options() {
    return options;
  }

  public GpuDriver driver() {
    return driver;
  }

  public List<GpuDevice> gpus() {
    return driver.devices();
  }

  public SliceTable slices() {
    return slices;
  }

  public Collection<NodeSession> sessions() {
    return sessions.values();
  }

  /** Admits a session: checks the request, reserves its slices and creates its contexts. */
  public Admitted open(long seq, Open open) throws OpException {
    String what = "open (seq " + seq + ")";
    Status badVersion = SessionProtocol.unsupportedVersion(what, open, "this node");
    if (badVersion != null) {
      throw new OpException(badVersion.getCode(), badVersion.getDescription());
    }
    if (open.getTenant().isBlank()) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": tenant is empty");
    }
    SliceTable.Request request = request(what, open.getSlice());
    List<SliceTable.Slice> granted;
    try {
      granted = slices.reserve(request);
    } catch (SliceTable.SliceUnavailableException e) {
      throw new OpException(e.badRequest() ? Code.INVALID_ARGUMENT : Code.RESOURCE_EXHAUSTED,
          what + ": " + e.getMessage());
    }
    String id = "s-" + UUID.randomUUID().toString().substring(0, 13);
    List<NodeSession.Device> devices = new ArrayList<>();
    try {
      for (int i = 0; i < granted.size(); i++) {
        SliceTable.Slice s = granted.get(i);
        DriverContext ctx = driver.createContext(s.gpu().index());
        long contextBytes = Math.max(0, ctx.overheadBytes());
        if (contextBytes > s.memoryBytes()) {
          ctx.close();
          devices.forEach(d -> {
            d.share().close();
            d.context().close();
          });
          slices.release(granted);
          throw new OpException(Code.RESOURCE_EXHAUSTED, what + ": a slice of " + s.memoryBytes() + " bytes on gpu "
              + s.gpu().index() + " cannot hold the session's context, which takes " + contextBytes + " bytes of"
              + " the card itself (" + driver.name() + " driver); ask for more memory");
        }
        FairShareScheduler.Share share = schedulers.get(s.gpu().uuid()).register(id, s.computePercent());
        devices.add(new NodeSession.Device(i, ctx, s.memoryBytes(), share, contextBytes));
      }
    } catch (DriverException e) {
      devices.forEach(d -> d.share().close());
      slices.release(granted);
      throw new OpException(Code.UNAVAILABLE, what + ": could not create a context: " + e.getMessage());
    }
    NodeSession session = new NodeSession(id, open.getTenant(), devices, options.chunkBytes(),
        options.launchWaitMillis(), open.getProtocolVersion(), System::nanoTime, options.limits(), watchdog);
    sessions.put(id, session);
    sessionSlices.put(id, granted);
    // The session speaks the version the client opened it with.
    Opened.Builder opened = Opened.newBuilder().setSessionId(id).setProtocolVersion(open.getProtocolVersion())
        .setChunkBytes(options.chunkBytes()).setMaxFrameBytes(options.maxFrameBytes());
    for (int i = 0; i < granted.size(); i++) {
      SliceTable.Slice s = granted.get(i);
      opened.addDevices(DeviceInfo.newBuilder().setIndex(i).setPool(options.pool())
          .setNode(options.nodeId()).setGpuUuid(s.gpu().uuid()).setModel(s.gpu().model())
          .setMemoryLimitBytes(s.memoryBytes()).setComputePercent(s.computePercent())
          .setCardMemoryBytes(s.gpu().memoryBytes()).setDriver(driver.name()));
    }
    return new Admitted(session, opened.build());
  }

  /** Ends a session and returns its slices; idempotent. */
  public void release(NodeSession session) {
    session.close();
    if (sessions.remove(session.id()) != null) {
      List<SliceTable.Slice> s = sessionSlices.remove(session.id());
      if (s != null) {
        slices.release(s);
      }
    }
  }

  private static SliceTable.Request request(String what, SliceRequest s) throws OpException {
    long bytes = 0;
    int percent = 0;
    switch (s.getMemoryCase()) {
      case MEMORY_BYTES -> {
        bytes = s.getMemoryBytes();
        if (bytes <= 0) {
          throw new OpException(Code.INVALID_ARGUMENT, what + ": slice.memory_bytes "
              + Long.toUnsignedString(bytes) + " must be positive");
        }
      }
      case MEMORY_PERCENT -> {
        percent = s.getMemoryPercent();
        if (percent < 1 || percent > 100) {
          throw new OpException(Code.INVALID_ARGUMENT, what + ": slice.memory_percent "
              + Integer.toUnsignedString(percent) + " must be 1..100");
        }
      }
      case MEMORY_NOT_SET -> throw new OpException(Code.INVALID_ARGUMENT, what
          + ": slice.memory is not set; give memory_bytes or memory_percent");
    }
    if (Integer.compareUnsigned(s.getComputePercent(), 100) > 0) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": slice.compute_percent "
          + Integer.toUnsignedString(s.getComputePercent()) + " must be 0..100");
    }
    if (Integer.compareUnsigned(s.getGpuCount(), 64) > 0) {
      throw new OpException(Code.INVALID_ARGUMENT, what + ": slice.gpu_count "
          + Integer.toUnsignedString(s.getGpuCount()) + " is more than 64");
    }
    return new SliceTable.Request(Math.max(1, s.getGpuCount()), bytes, percent, s.getComputePercent(),
        s.getModelsList(), s.getExcludeModelsList(),
        s.getPlacement() == io.spillway.protocol.v1.Placement.PLACEMENT_SPREAD, s.getGpuUuidsList());
  }

  @Override
  public void close() {
    for (NodeSession s : List.copyOf(sessions.values())) {
      release(s);
    }
    watchdog.shutdownNow();
    driver.close();
  }
}
