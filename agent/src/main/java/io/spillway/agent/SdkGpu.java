package io.spillway.agent;

import io.spillway.client.DeviceBuffer;
import io.spillway.client.DeviceInfo;
import io.spillway.client.Dim3;
import io.spillway.client.GpuSession;
import io.spillway.client.GpuEvent;
import io.spillway.client.KernelArg;
import io.spillway.client.PointerSlot;
import io.spillway.client.Module;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@link Gpu} over the SDK's {@link GpuSession}. */
public final class SdkGpu implements Gpu {

  private final GpuSession session;
  /** Threading: the connection thread only, like the session. */
  private final Map<Integer, GpuEvent> events = new HashMap<>();

  public SdkGpu(GpuSession session) {
    this.session = session;
  }

  @Override
  public String sessionId() {
    return session.sessionId();
  }

  @Override
  public List<DeviceInfo> devices() {
    return session.devices();
  }

  @Override
  public DeviceBuffer alloc(long bytes, int device) {
    return session.alloc(bytes, device);
  }

  @Override
  public void free(DeviceBuffer buffer) {
    session.free(buffer);
  }

  @Override
  public void write(DeviceBuffer buffer, long offset, ByteBuffer data) {
    session.write(buffer, offset, data);
  }

  @Override
  public void read(DeviceBuffer buffer, long offset, ByteBuffer dst) {
    session.read(buffer, offset, dst);
  }

  @Override
  public void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes) {
    session.copy(dst, dstOffset, src, srcOffset, bytes);
  }

  @Override
  public void memset(DeviceBuffer buffer, long offset, int width, int value, long count) {
    session.memset(buffer, offset, width, value, count);
  }

  @Override
  public Module loadModule(byte[] ptx, String name) {
    return session.loadModule(ptx, name);
  }

  /**
   * The shim cannot know whether a kernel reads or writes through a pointer, so every slot says
   * {@code UNSPECIFIED} (read and write); the gateways' journal keeps replay correct with that.
   */
  @Override
  public void launchRaw(Module module, String function, KernelLayout layout, Dim3 grid, Dim3 block,
      int sharedBytes, byte[] params, List<Slot> slots) {
    List<PointerSlot> pointers = new ArrayList<>(slots.size());
    for (Slot s : slots) {
      pointers.add(new PointerSlot(s.paramOffset(), s.buffer(), s.offset(), KernelArg.Access.UNSPECIFIED));
    }
    session.launchRaw(module, function, grid, block, sharedBytes, params, pointers);
  }

  @Override
  public DeviceBuffer global(Module module, String name) {
    return session.global(module, name);
  }

  @Override
  public int createEvent() {
    GpuEvent e = session.createEvent();
    events.put(e.id(), e);
    return e.id();
  }

  @Override
  public void record(int event) {
    session.record(event(event));
  }

  @Override
  public float elapsedMillis(int start, int end) {
    return session.elapsedMillis(event(start), event(end));
  }

  @Override
  public void freeEvent(int event) {
    GpuEvent e = events.remove(event);
    if (e != null) {
      session.free(e);
    }
  }

  @Override
  public void forbidReplay(String reason) {
    session.forbidReplay(reason);
  }

  private GpuEvent event(int id) {
    GpuEvent e = events.get(id);
    if (e == null) {
      throw new IllegalArgumentException("event " + id + " was not created in this session");
    }
    return e;
  }

  @Override
  public void synchronize() {
    session.synchronize();
  }

  @Override
  public void flush() {
    session.flush();
  }

  @Override
  public void close() {
    session.close();
  }
}
