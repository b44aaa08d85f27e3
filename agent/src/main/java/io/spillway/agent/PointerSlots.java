package io.spillway.agent;

import io.spillway.client.DeviceBuffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the device pointers in a raw parameter buffer, so the node can put its own addresses there: a
 * 64-bit parameter, or an 8-aligned word of a struct passed by value, whose value lies inside a live
 * allocation of the context (or at its end).
 *
 * <p>The limit, documented in docs/transparent-cuda.md: only the parameter buffer is translated. A pointer
 * stored in device memory (a linked structure, an array of pointers) is not, and the node's bounds checks
 * make it fail rather than reach anything outside the session. A 64-bit integer that happens to equal a
 * live device address is translated as a pointer, which is what the program would see on CUDA too (the
 * same value).
 */
final class PointerSlots {

  private PointerSlots() {
  }

  static List<Gpu.Slot> find(KernelLayout layout, byte[] params, AddressSpace<DeviceBuffer> addresses) {
    ByteBuffer b = ByteBuffer.wrap(params).order(ByteOrder.LITTLE_ENDIAN);
    List<Gpu.Slot> slots = new ArrayList<>();
    for (KernelLayout.Param p : layout.params()) {
      switch (p.kind()) {
        case B64 -> add(slots, addresses, p.offset(), b.getLong(p.offset()));
        case BYTES -> {
          int first = (p.offset() + 7) & ~7;
          for (int off = first; off + 8 <= p.offset() + p.size(); off += 8) {
            add(slots, addresses, off, b.getLong(off));
          }
        }
        default -> {
        }
      }
    }
    return slots;
  }

  private static void add(List<Gpu.Slot> slots, AddressSpace<DeviceBuffer> addresses, int offset, long value) {
    if (value == 0) {
      return;
    }
    AddressSpace.Target<DeviceBuffer> t = addresses.pointer(value);
    if (t != null) {
      slots.add(new Gpu.Slot(offset, t.allocation().buffer(), t.offset()));
    }
  }

  /**
   * The first 8-aligned word of {@code data} (to be written at device address {@code dst}) whose value is a
   * live device address of the context, or 0: a program storing pointers in device memory, which replay
   * elsewhere could not translate. Reads {@code data} without consuming it.
   */
  static long storedPointer(ByteBuffer data, long dst, AddressSpace<DeviceBuffer> addresses) {
    ByteBuffer d = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    long lo = addresses.base();
    long hi = addresses.peek();
    int skip = (int) ((8 - (dst & 7)) & 7);
    for (int i = d.position() + skip; i + 8 <= d.limit(); i += 8) {
      long v = d.getLong(i);
      if (v >= lo && v <= hi && addresses.pointer(v) != null) {
        return v;
      }
    }
    return 0;
  }
}
