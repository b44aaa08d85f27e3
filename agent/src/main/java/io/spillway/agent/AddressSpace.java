package io.spillway.agent;

import java.util.Map;
import java.util.TreeMap;

/**
 * The synthetic device addresses of one CUDA context: the range the shim reserved in its process (so no
 * host pointer can fall in it), carved into allocations that each stand for one session buffer. Addresses
 * are never reused within a context, so a stale pointer cannot reach a newer allocation.
 *
 * <p>Not thread-safe: owned by the connection thread.
 *
 * @param <B> what an allocation stands for (the session's buffer)
 */
public final class AddressSpace<B> {

  /** Allocations are aligned like the driver's (256 bytes at least); pages keep pointers distinct. */
  static final long ALIGN = 512;

  /** An allocation: [address, address + size) stands for {@code buffer}. */
  public record Allocation<B>(long address, long size, B buffer) {
  }

  /** A translated address: the allocation and the offset in it. */
  public record Target<B>(Allocation<B> allocation, long offset) {
  }

  private final long base;
  private final long limit;
  private long next;
  private final TreeMap<Long, Allocation<B>> live = new TreeMap<>();

  public AddressSpace(long base, long bytes) {
    if (base <= 0 || bytes <= 0) {
      throw new IllegalArgumentException("address range base=" + base + " bytes=" + bytes + " is invalid");
    }
    this.base = base;
    this.limit = base + bytes;
    this.next = base;
  }

  /** Hands out the next address for {@code size} bytes; null when the range is used up. */
  public Allocation<B> allocate(long size, B buffer) {
    long address = next;
    long end = address + (size + ALIGN - 1) / ALIGN * ALIGN;
    if (size <= 0 || end > limit || end < address) {
      return null;
    }
    next = end;
    Allocation<B> a = new Allocation<>(address, size, buffer);
    live.put(address, a);
    return a;
  }

  /** Records an allocation at an address chosen elsewhere (a module global); it must not overlap. */
  public Allocation<B> allocate(long address, long size, B buffer) {
    Allocation<B> a = new Allocation<>(address, size, buffer);
    live.put(address, a);
    return a;
  }

  /** Next address that {@link #allocate(long, Object)} would hand out. */
  public long peek() {
    return next;
  }

  /** Removes the allocation starting at {@code address}; null if there is none. */
  public Allocation<B> free(long address) {
    return live.remove(address);
  }

  /** The allocation holding {@code address}, or null. */
  public Target<B> find(long address) {
    Map.Entry<Long, Allocation<B>> e = live.floorEntry(address);
    if (e == null) {
      return null;
    }
    Allocation<B> a = e.getValue();
    long off = address - a.address();
    return off < a.size() ? new Target<>(a, off) : null;
  }

  /**
   * The allocation holding all of [address, address + bytes), or an exception saying what is wrong:
   * a copy must stay inside one allocation, as on CUDA.
   */
  public Target<B> range(String what, long address, long bytes) {
    Target<B> t = find(address);
    if (t == null) {
      throw new IllegalArgumentException(what + " at device address 0x" + Long.toHexString(address)
          + " is not in any live allocation of this context");
    }
    if (bytes < 0 || t.offset() + bytes > t.allocation().size()) {
      throw new IllegalArgumentException(what + " of " + bytes + " bytes at 0x" + Long.toHexString(address)
          + " overruns its allocation at 0x" + Long.toHexString(t.allocation().address()) + " (size "
          + t.allocation().size() + ")");
    }
    return t;
  }

  /** Whether {@code value} could be a pointer into this context (inside a live allocation or its end). */
  public Target<B> pointer(long value) {
    Target<B> t = find(value);
    if (t != null) {
      return t;
    }
    Map.Entry<Long, Allocation<B>> e = live.floorEntry(value - 1);
    if (e != null && value == e.getValue().address() + e.getValue().size()) {
      return new Target<>(e.getValue(), e.getValue().size());
    }
    return null;
  }

  public int liveCount() {
    return live.size();
  }

  public long base() {
    return base;
  }
}
