package io.spillway.console;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The last {@code capacity} samples of a gateway's utilization, oldest first: what the console's
 * "utilization over time" page draws. A fixed ring, so memory does not grow with uptime; the oldest
 * sample is overwritten once the ring is full.
 *
 * <p>Threading: one sampler thread records, any thread reads; both take this object's monitor, and
 * readers get a copy.
 */
public final class UtilizationHistory {

  private final Sample[] ring;
  private int next;
  private int size;

  public UtilizationHistory(int capacity) {
    if (capacity < 2) {
      throw new IllegalArgumentException("a history needs at least 2 samples to draw a line; capacity is "
          + capacity);
    }
    ring = new Sample[capacity];
  }

  public int capacity() {
    return ring.length;
  }

  public synchronized void record(Sample sample) {
    ring[next] = sample;
    next = (next + 1) % ring.length;
    size = Math.min(size + 1, ring.length);
  }

  /** Samples taken after {@code since} (all when null), oldest first. */
  public synchronized List<Sample> since(Instant since) {
    List<Sample> out = new ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      Sample s = ring[(next - size + i + ring.length) % ring.length];
      if (since == null || s.at().isAfter(since)) {
        out.add(s);
      }
    }
    return out;
  }
}
