package io.spillway.client;

/**
 * A typed kernel argument. Pointers are passed as (buffer, offset) and translated into device addresses
 * by the node that runs the kernel, so a session keeps working when it is moved to another GPU.
 */
public sealed interface KernelArg {

  static KernelArg ptr(DeviceBuffer buffer) {
    return new Ptr(buffer, 0);
  }

  static KernelArg ptr(DeviceBuffer buffer, long offset) {
    return new Ptr(buffer, offset);
  }

  static KernelArg i32(int value) {
    return new I32(value);
  }

  static KernelArg i64(long value) {
    return new I64(value);
  }

  static KernelArg f32(float value) {
    return new F32(value);
  }

  static KernelArg f64(double value) {
    return new F64(value);
  }

  /** A device pointer to {@code buffer + offset}; the offset may equal the size (an end pointer). */
  record Ptr(DeviceBuffer buffer, long offset) implements KernelArg {
    public Ptr {
      if (buffer == null) {
        throw new IllegalArgumentException("ptr buffer must not be null");
      }
      if (offset < 0 || offset > buffer.size()) {
        throw new IllegalArgumentException("ptr offset " + offset + " is outside handle "
            + buffer.handle() + " (size " + buffer.size() + ")");
      }
    }
  }

  record I32(int value) implements KernelArg {
  }

  record I64(long value) implements KernelArg {
  }

  record F32(float value) implements KernelArg {
  }

  record F64(double value) implements KernelArg {
  }
}
