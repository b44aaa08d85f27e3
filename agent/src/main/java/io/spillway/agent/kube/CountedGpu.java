package io.spillway.agent.kube;

import io.spillway.agent.Gpu;
import io.spillway.agent.KernelLayout;
import io.spillway.client.DeviceBuffer;
import io.spillway.client.DeviceInfo;
import io.spillway.client.Dim3;
import io.spillway.client.Module;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/** A session whose memory counts against an allocation until it is closed (once). */
final class CountedGpu implements Gpu {

  private final Gpu gpu;
  private final Runnable release;
  private final AtomicBoolean closed = new AtomicBoolean();

  CountedGpu(Gpu gpu, Runnable release) {
    this.gpu = gpu;
    this.release = release;
  }

  @Override
  public String sessionId() {
    return gpu.sessionId();
  }

  @Override
  public List<DeviceInfo> devices() {
    return gpu.devices();
  }

  @Override
  public DeviceBuffer alloc(long bytes, int device) {
    return gpu.alloc(bytes, device);
  }

  @Override
  public void free(DeviceBuffer buffer) {
    gpu.free(buffer);
  }

  @Override
  public void write(DeviceBuffer buffer, long offset, ByteBuffer data) {
    gpu.write(buffer, offset, data);
  }

  @Override
  public void read(DeviceBuffer buffer, long offset, ByteBuffer dst) {
    gpu.read(buffer, offset, dst);
  }

  @Override
  public void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes) {
    gpu.copy(dst, dstOffset, src, srcOffset, bytes);
  }

  @Override
  public void memset(DeviceBuffer buffer, long offset, int width, int value, long count) {
    gpu.memset(buffer, offset, width, value, count);
  }

  @Override
  public Module loadModule(byte[] ptx, String name) {
    return gpu.loadModule(ptx, name);
  }

  @Override
  public void launchRaw(Module module, String function, KernelLayout layout, Dim3 grid, Dim3 block, int sharedBytes,
      byte[] params, List<Slot> slots) {
    gpu.launchRaw(module, function, layout, grid, block, sharedBytes, params, slots);
  }

  @Override
  public DeviceBuffer global(Module module, String name) {
    return gpu.global(module, name);
  }

  @Override
  public int createEvent() {
    return gpu.createEvent();
  }

  @Override
  public void record(int event) {
    gpu.record(event);
  }

  @Override
  public float elapsedMillis(int start, int end) {
    return gpu.elapsedMillis(start, end);
  }

  @Override
  public void freeEvent(int event) {
    gpu.freeEvent(event);
  }

  @Override
  public void forbidReplay(String reason) {
    gpu.forbidReplay(reason);
  }

  @Override
  public void synchronize() {
    gpu.synchronize();
  }

  @Override
  public void flush() {
    gpu.flush();
  }

  @Override
  public void close() {
    try {
      gpu.close();
    } finally {
      if (closed.compareAndSet(false, true)) {
        release.run();
      }
    }
  }
}
