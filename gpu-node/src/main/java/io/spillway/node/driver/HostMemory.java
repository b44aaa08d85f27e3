package io.spillway.node.driver;

import io.spillway.ptx.exec.GlobalMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

/**
 * The emulated device memory of one {@link HostGpuDriver} context: its allocations, each a direct
 * little-endian buffer, keyed by synthetic device address. Device-wide accounting and address
 * assignment are the driver's; this class only maps addresses to bytes.
 *
 * <p>Invariant: the allocations never overlap, and every view handed out ends where its allocation
 * ends, so nothing reached through one allocation's address can touch another's bytes. Kernels see
 * this memory as a {@link GlobalMemory}: an access that does not lie wholly inside one allocation of
 * this context faults.
 *
 * <p>Not thread-safe for changes: its context serialises them. {@link #find} may be called from many
 * threads at once while no change is made (the executor's workers during a launch, which holds the
 * context's lock).
 */
final class HostMemory implements GlobalMemory {

  private final TreeMap<Long, Segment> allocations = new TreeMap<>();
  private long totalBytes;

  /** Adds an allocation of {@code bytes} zeroed bytes at {@code address}. */
  void add(long address, int bytes) throws DriverException {
    ByteBuffer buffer;
    try {
      buffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
    } catch (OutOfMemoryError e) {
      throw new DriverException(DriverException.Kind.OUT_OF_MEMORY, "allocate of " + bytes
          + " bytes: the host JVM is out of direct memory (-XX:MaxDirectMemorySize): " + e.getMessage(),
          e);
    }
    allocations.put(address, new Segment(address, buffer));
    totalBytes += bytes;
  }

  /** Removes the allocation that starts at {@code address}; returns its size, or -1 if none does. */
  long remove(long address) {
    Segment removed = allocations.remove(address);
    if (removed == null) {
      return -1;
    }
    totalBytes -= removed.buffer().capacity();
    return removed.buffer().capacity();
  }

  /** Drops every allocation; returns the bytes they held. */
  long clear() {
    long bytes = totalBytes;
    allocations.clear();
    totalBytes = 0;
    return bytes;
  }

  /**
   * A view of exactly {@code [address, address + bytes)}, which must lie inside one allocation.
   *
   * @throws DriverException INVALID naming {@code op} when it does not
   */
  ByteBuffer range(long address, long bytes, String op) throws DriverException {
    Map.Entry<Long, Segment> e = allocations.floorEntry(address);
    if (e != null && bytes >= 0) {
      long offset = address - e.getKey();
      ByteBuffer buffer = e.getValue().buffer();
      int size = buffer.capacity();
      if (offset < size && bytes <= size - offset) {
        return buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN)
            .limit((int) (offset + bytes)).position((int) offset).slice().order(ByteOrder.LITTLE_ENDIAN);
      }
      if (offset < size) {
        throw new DriverException(DriverException.Kind.INVALID, String.format(
            "%s of %d bytes at 0x%x overruns the allocation at 0x%x (%d bytes)", op, bytes, address,
            e.getKey(), size));
      }
    }
    throw new DriverException(DriverException.Kind.INVALID, String.format(
        "%s of %d bytes at 0x%x: address is not inside any allocation of this context", op, bytes,
        address));
  }

  @Override
  public Segment find(long address, int bytes) {
    Map.Entry<Long, Segment> e = allocations.floorEntry(address);
    if (e == null) {
      return null;
    }
    Segment s = e.getValue();
    long offset = address - s.base();
    return offset + bytes <= s.buffer().capacity() ? s : null;
  }

  @Override
  public String describe(long address, int bytes) {
    Map.Entry<Long, Segment> e = allocations.floorEntry(address);
    // an access that starts inside, or just past the end of, an allocation ran over that allocation
    if (e != null && address - e.getKey() < e.getValue().buffer().capacity() + bytes) {
      return String.format("access out of bounds of allocation at 0x%x (%d bytes): %d bytes at offset %d",
          e.getKey(), e.getValue().buffer().capacity(), bytes, address - e.getKey());
    }
    return String.format("address 0x%x (%d bytes) is not inside any allocation of this context",
        address, bytes);
  }
}
