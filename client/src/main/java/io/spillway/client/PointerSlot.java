package io.spillway.client;

/**
 * Where a device pointer sits in the raw parameter buffer of {@link GpuSession#launchRaw}: the node that
 * runs the kernel writes the device address of {@code buffer + bufferOffset} there, as 8 little-endian
 * bytes, so the launch keeps working when the session moves to another GPU.
 *
 * @param paramOffset  byte offset in the parameter buffer: an 8-byte {@code .b64}/{@code .u64} parameter,
 *                     or 8-aligned inside a {@code .b8} array parameter (a struct passed by value)
 * @param buffer       the buffer pointed into
 * @param bufferOffset offset in the buffer; may equal its size (an end pointer)
 * @param access       what the kernel does with the memory, as for {@link KernelArg#ptr}: gateways use it to
 *                     rebuild the session elsewhere ({@code UNSPECIFIED} counts as read and write)
 */
public record PointerSlot(int paramOffset, DeviceBuffer buffer, long bufferOffset, KernelArg.Access access) {
  public PointerSlot {
    if (buffer == null) {
      throw new IllegalArgumentException("pointer slot buffer must not be null");
    }
    if (access == null) {
      throw new IllegalArgumentException("pointer slot access must not be null");
    }
    if (paramOffset < 0) {
      throw new IllegalArgumentException("pointer slot paramOffset=" + paramOffset + " is invalid: expected >= 0");
    }
    if (bufferOffset < 0 || bufferOffset > buffer.size()) {
      throw new IllegalArgumentException("pointer slot bufferOffset " + bufferOffset + " is outside handle "
          + buffer.handle() + " (size " + buffer.size() + ")");
    }
  }
}
