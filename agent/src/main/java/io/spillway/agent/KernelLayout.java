package io.spillway.agent;

import java.util.List;

/**
 * How a kernel's parameters lie in the one buffer {@code cuLaunchKernel} is marshalled into, as CUDA lays
 * them out: each at the next multiple of its alignment, in declaration order.
 *
 * @param name       the kernel's (mangled) name
 * @param params     the parameters in declaration order
 * @param paramBytes the size of the whole buffer
 */
public record KernelLayout(String name, List<Param> params, int paramBytes) {

  /** What a parameter holds, as far as pointer translation needs to know. */
  public enum Kind {
    /** A 64-bit integer: a device pointer when its value lies in a live allocation. */
    B64,
    /** A 32-bit or smaller integer or a float: never a pointer. */
    SCALAR,
    /** A 64-bit float: never a pointer. */
    F64,
    /** A {@code .b8} array (a struct by value): each 8-aligned word may be a pointer. */
    BYTES
  }

  /**
   * @param offset where it starts in the buffer
   * @param size   its size in bytes
   * @param align  its alignment
   */
  public record Param(String name, int offset, int size, int align, Kind kind) {
  }

  public KernelLayout {
    params = List.copyOf(params);
  }
}
