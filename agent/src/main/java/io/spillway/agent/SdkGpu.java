package io.spillway.agent;

import io.spillway.client.DeviceBuffer;
import io.spillway.client.DeviceInfo;
import io.spillway.client.Dim3;
import io.spillway.client.GpuSession;
import io.spillway.client.KernelArg;
import io.spillway.client.Module;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** {@link Gpu} over the SDK's {@link GpuSession}. */
public final class SdkGpu implements Gpu {

  private final GpuSession session;

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
    throw new UnsupportedOperationException("device-to-device copy needs protocol v2 (Copy op) in the SDK");
  }

  @Override
  public void memset(DeviceBuffer buffer, long offset, int width, int value, long count) {
    if (width == 1) {
      session.fill(buffer, offset, count, value & 0xff);
      return;
    }
    throw new UnsupportedOperationException("memset of width " + width + " needs protocol v2 (Memset op) in the SDK");
  }

  @Override
  public Module loadModule(byte[] ptx, String name) {
    return session.loadModule(ptx, name);
  }

  /**
   * Until the SDK has raw launches: the raw buffer is cut into typed arguments by the layout, which covers
   * kernels whose parameters are pointers and scalars (not structs by value).
   */
  @Override
  public void launchRaw(Module module, String function, KernelLayout layout, Dim3 grid, Dim3 block,
      int sharedBytes, byte[] params, List<Slot> slots) {
    ByteBuffer b = ByteBuffer.wrap(params).order(ByteOrder.LITTLE_ENDIAN);
    List<KernelArg> args = new ArrayList<>();
    for (KernelLayout.Param p : layout.params()) {
      Slot slot = null;
      for (Slot s : slots) {
        if (s.paramOffset() == p.offset()) {
          slot = s;
        }
      }
      if (slot != null && p.size() == 8) {
        args.add(KernelArg.ptr(slot.buffer(), slot.offset()));
      } else if (p.kind() == KernelLayout.Kind.BYTES) {
        throw new UnsupportedOperationException("kernel " + function + " takes " + p.name()
            + " (a struct of " + p.size() + " bytes) by value: that needs raw launches (protocol v2) in the SDK");
      } else if (p.kind() == KernelLayout.Kind.F64) {
        args.add(KernelArg.f64(b.getDouble(p.offset())));
      } else if (p.size() == 8) {
        args.add(KernelArg.i64(b.getLong(p.offset())));
      } else if (p.size() == 4) {
        args.add(KernelArg.i32(b.getInt(p.offset())));
      } else {
        throw new UnsupportedOperationException("kernel " + function + " parameter " + p.name() + " of "
            + p.size() + " bytes needs raw launches (protocol v2) in the SDK");
      }
    }
    session.launch(module, function, grid, block, sharedBytes, args.toArray(KernelArg[]::new));
  }

  @Override
  public DeviceBuffer global(Module module, String name) {
    throw new UnsupportedOperationException("module globals need protocol v2 (GetGlobal op) in the SDK");
  }

  @Override
  public int createEvent() {
    throw new UnsupportedOperationException("events need protocol v2 (EventRecord op) in the SDK");
  }

  @Override
  public void record(int event) {
    throw new UnsupportedOperationException("events need protocol v2 (EventRecord op) in the SDK");
  }

  @Override
  public float elapsedMillis(int start, int end) {
    throw new UnsupportedOperationException("events need protocol v2 (EventElapsed op) in the SDK");
  }

  @Override
  public void freeEvent(int event) {
    throw new UnsupportedOperationException("events need protocol v2 (EventFree op) in the SDK");
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
