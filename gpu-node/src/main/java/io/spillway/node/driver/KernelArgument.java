package io.spillway.node.driver;

/** A kernel argument after the session layer translated handles into device addresses. */
public sealed interface KernelArgument {

  /** A device address inside one of the context's allocations. */
  record Pointer(long address) implements KernelArgument {}

  record I32(int value) implements KernelArgument {}

  record I64(long value) implements KernelArgument {}

  record F32(float value) implements KernelArgument {}

  record F64(double value) implements KernelArgument {}

  /** Bytes the value takes in a parameter buffer. */
  default int width() {
    return this instanceof I32 || this instanceof F32 ? 4 : 8;
  }

  /** The protocol's name for this kind, for error messages. */
  default String typeName() {
    if (this instanceof Pointer) {
      return "ptr";
    } else if (this instanceof I32) {
      return "i32";
    } else if (this instanceof I64) {
      return "i64";
    } else if (this instanceof F32) {
      return "f32";
    }
    return "f64";
  }
}
