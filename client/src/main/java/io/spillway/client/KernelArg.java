package io.spillway.client;

/**
 * A typed kernel argument. Pointers are passed as (buffer, offset) and translated into device addresses
 * by the node that runs the kernel, so a session keeps working when it is moved to another GPU.
 *
 * <p>A pointer says what the kernel does with the memory behind it: {@link #in} (reads only),
 * {@link #out} (writes before it reads) or {@link #inOut}; {@link #ptr} says nothing and counts as
 * {@link #inOut}. Gateways use this to rebuild a session on another GPU when its GPU is lost: a session
 * whose kernels only read its persistent buffers can be rebuilt; one that passes a persistent buffer as
 * {@code out}, {@code inOut} or {@code ptr} cannot (see docs/failover.md). Nodes do not check it. For the
 * functions of a module whose image declares them (the Spillway kernel library's does, in its leading
 * {@code // spillway.pointer-access} comments) the SDK fills in a {@code ptr}'s access from that
 * declaration.
 */
public sealed interface KernelArg {

  /** What a kernel does with the memory behind a pointer. */
  enum Access {
    /** Not said: counts as {@link #READ_WRITE}. */
    UNSPECIFIED,
    READ,
    /** The kernel writes every byte it touches before reading it (an output). */
    WRITE,
    READ_WRITE
  }

  /** A pointer to the start of {@code buffer}, access not said (read and write). */
  static KernelArg ptr(DeviceBuffer buffer) {
    return new Ptr(buffer, 0, Access.UNSPECIFIED);
  }

  static KernelArg ptr(DeviceBuffer buffer, long offset) {
    return new Ptr(buffer, offset, Access.UNSPECIFIED);
  }

  /** A pointer the kernel only reads (weights, inputs). */
  static KernelArg in(DeviceBuffer buffer) {
    return new Ptr(buffer, 0, Access.READ);
  }

  static KernelArg in(DeviceBuffer buffer, long offset) {
    return new Ptr(buffer, offset, Access.READ);
  }

  /** A pointer the kernel writes before reading (outputs). */
  static KernelArg out(DeviceBuffer buffer) {
    return new Ptr(buffer, 0, Access.WRITE);
  }

  static KernelArg out(DeviceBuffer buffer, long offset) {
    return new Ptr(buffer, offset, Access.WRITE);
  }

  /** A pointer the kernel reads and writes (accumulators, in-place updates). */
  static KernelArg inOut(DeviceBuffer buffer) {
    return new Ptr(buffer, 0, Access.READ_WRITE);
  }

  static KernelArg inOut(DeviceBuffer buffer, long offset) {
    return new Ptr(buffer, offset, Access.READ_WRITE);
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
  record Ptr(DeviceBuffer buffer, long offset, Access access) implements KernelArg {
    public Ptr {
      if (buffer == null) {
        throw new IllegalArgumentException("ptr buffer must not be null");
      }
      if (access == null) {
        throw new IllegalArgumentException("ptr access must not be null");
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
