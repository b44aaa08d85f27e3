package io.spillway.ptx.exec;

import java.nio.ByteBuffer;

/**
 * The device memory a launch may touch in the global (and constant) space: the launching context's
 * allocations, and nothing else. Every global access of a kernel goes through {@link #find}; an address
 * outside every segment faults the launch.
 *
 * <p>Called from the executor's worker threads while the launching context is held, so the set of
 * segments must not change during a launch; lookups must be safe from several threads at once.
 */
public interface GlobalMemory {

  /**
   * The segment that holds all of {@code [address, address + bytes)}, or null when no single segment
   * does (unallocated, or running past the end of one allocation).
   */
  Segment find(long address, int bytes);

  /**
   * One allocation: {@code buffer} holds its bytes from device address {@code base}, little-endian,
   * position 0 and capacity the allocation's size. Atomics use the buffer's 4- and 8-byte views, so a
   * direct buffer is required for atomic access from several threads.
   */
  record Segment(long base, ByteBuffer buffer) {
    public long end() {
      return base + buffer.capacity();
    }
  }

  /** Describes why {@code address} is not accessible, for the fault message. */
  default String describe(long address, int bytes) {
    return String.format("address 0x%x (%d bytes) is not inside any allocation of this context",
        address, bytes);
  }
}
