package io.spillway.node.driver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.TreeMap;

/**
 * The emulated device memory of one {@link HostGpuDriver} context: its allocations, each a direct
 * little-endian buffer, keyed by synthetic device address. Device-wide accounting and address
 * assignment are the driver's; this class only maps addresses to bytes.
 *
 * <p>Invariant: the allocations never overlap, and every view handed out ends where its allocation
 * ends, so nothing reached through one allocation's address can touch another's bytes.
 *
 * <p>Not thread-safe: its context serialises access.
 */
final class HostMemory {

  private final TreeMap<Long, ByteBuffer> allocations = new TreeMap<>();
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
    allocations.put(address, buffer);
    totalBytes += bytes;
  }

  /** Removes the allocation that starts at {@code address}; returns its size, or -1 if none does. */
  long remove(long address) {
    ByteBuffer removed = allocations.remove(address);
    if (removed == null) {
      return -1;
    }
    totalBytes -= removed.capacity();
    return removed.capacity();
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
    Map.Entry<Long, ByteBuffer> e = allocations.floorEntry(address);
    if (e != null && bytes >= 0) {
      long offset = address - e.getKey();
      int size = e.getValue().capacity();
      if (offset < size && bytes <= size - offset) {
        return e.getValue().duplicate().order(ByteOrder.LITTLE_ENDIAN)
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

  /**
   * The floats from {@code address} to the end of its allocation, as a kernel sees a {@code float*}.
   * Never fails itself: an address outside every allocation, or misaligned, gives a view whose first
   * access faults, as dereferencing it would on a GPU.
   */
  Floats floats(long address) {
    Map.Entry<Long, ByteBuffer> e = allocations.floorEntry(address);
    if (e == null || address - e.getKey() >= e.getValue().capacity()) {
      return new Floats(address, FloatBuffer.allocate(0),
          String.format("address 0x%x is not inside any allocation of this context", address));
    }
    if ((address & 3) != 0) {
      return new Floats(address, FloatBuffer.allocate(0),
          String.format("misaligned address 0x%x for float access", address));
    }
    long base = e.getKey();
    int offset = (int) (address - base);
    FloatBuffer view = e.getValue().duplicate().position(offset).slice()
        .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    return new Floats(address, view, String.format(
        "access out of bounds of allocation at 0x%x (%d bytes)", base, e.getValue().capacity()));
  }

  /**
   * A kernel's {@code float*}: every access is checked against the end of the allocation it points
   * into, and an access outside raises {@link Fault}.
   */
  static final class Fault extends RuntimeException {
    Fault(String message) {
      super(message, null, false, false);
    }
  }

  /** A bounds-checked float array over device memory, indexed from the pointer it was made from. */
  static final class Floats {
    private final long address;
    private final FloatBuffer view;
    private final String outOfBounds;

    private Floats(long address, FloatBuffer view, String outOfBounds) {
      this.address = address;
      this.view = view;
      this.outOfBounds = outOfBounds;
    }

    float get(long index) {
      return view.get(check(index));
    }

    void set(long index, float value) {
      view.put(check(index), value);
    }

    private int check(long index) {
      if (index < 0 || index >= view.capacity()) {
        throw new Fault(String.format("%s: float index %d from 0x%x", outOfBounds, index, address));
      }
      return (int) index;
    }
  }
}
