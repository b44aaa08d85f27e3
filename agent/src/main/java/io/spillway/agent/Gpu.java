package io.spillway.agent;

import io.spillway.client.DeviceBuffer;
import io.spillway.client.DeviceInfo;
import io.spillway.client.Dim3;
import io.spillway.client.Module;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * What the agent needs of one session: the SDK's {@code GpuSession} plus the operations of protocol v2. The
 * one implementation is {@link SdkGpu}; tests may put a fake behind it. Errors surface as the SDK's
 * {@code SpillwayException} (from the call or, for pipelined calls, from the next synchronizing one) or as
 * {@link IllegalArgumentException} for arguments refused before anything is sent.
 */
public interface Gpu extends AutoCloseable {

  /** A device pointer inside a raw parameter buffer: the node writes the address of buffer + offset there. */
  record Slot(int paramOffset, DeviceBuffer buffer, long offset) {
  }

  String sessionId();

  List<DeviceInfo> devices();

  DeviceBuffer alloc(long bytes, int device);

  void free(DeviceBuffer buffer);

  /** Copies {@code data}'s remaining bytes before returning. Pipelined. */
  void write(DeviceBuffer buffer, long offset, ByteBuffer data);

  /** Synchronizing. */
  void read(DeviceBuffer buffer, long offset, ByteBuffer dst);

  void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes);

  void memset(DeviceBuffer buffer, long offset, int width, int value, long count);

  Module loadModule(byte[] ptx, String name);

  void launchRaw(Module module, String function, KernelLayout layout, Dim3 grid, Dim3 block, int sharedBytes,
      byte[] params, List<Slot> slots);

  /** One round trip: the module-scope variable as a buffer. */
  DeviceBuffer global(Module module, String name);

  int createEvent();

  void record(int event);

  float elapsedMillis(int start, int end);

  void freeEvent(int event);

  /** Tells the gateways not to rebuild the session elsewhere: its state holds device addresses. */
  void forbidReplay(String reason);

  void synchronize();

  void flush();

  @Override
  void close();
}
