package io.spillway.ptx.exec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

/** Device memory for executor tests: direct buffers at synthetic addresses, 256 bytes apart. */
final class TestMemory implements GlobalMemory {
  private final TreeMap<Long, Segment> segments = new TreeMap<>();
  private long next = 1L << 48;

  long alloc(int bytes) {
    long at = next;
    segments.put(at, new Segment(at, ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN)));
    next += (bytes + 511) / 256 * 256;
    return at;
  }

  long floats(float[] values) {
    long p = alloc(4 * values.length);
    ByteBuffer b = segments.get(p).buffer();
    for (int i = 0; i < values.length; i++) {
      b.putFloat(4 * i, values[i]);
    }
    return p;
  }

  float[] readFloats(long p, int n) {
    ByteBuffer b = segments.get(p).buffer();
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = b.getFloat(4 * i);
    }
    return out;
  }

  ByteBuffer buffer(long p) {
    return segments.get(p).buffer();
  }

  @Override
  public Segment find(long address, int bytes) {
    Map.Entry<Long, Segment> e = segments.floorEntry(address);
    if (e == null || address + bytes > e.getValue().end()) {
      return null;
    }
    return e.getValue();
  }
}
