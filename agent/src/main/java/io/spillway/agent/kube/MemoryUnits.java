package io.spillway.agent.kube;

import io.spillway.agent.kube.deviceplugin.v1beta1.Device;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The devices the plugin advertises: a fixed count of units of GPU memory ({@code gib-0000}, ...), of which
 * the first {@code usable / unit} are healthy. Health follows the edge's capacity; the count never changes,
 * so the kubelet's bookkeeping of allocated ids stays valid. Thread-safe.
 */
public final class MemoryUnits {

  public static final String HEALTHY = "Healthy";
  public static final String UNHEALTHY = "Unhealthy";

  private final int count;
  private final long unitBytes;
  private int healthy;

  public MemoryUnits(int count, long unitBytes) {
    if (count < 1) {
      throw new IllegalArgumentException("units=" + count + " is invalid: expected at least 1");
    }
    this.count = count;
    this.unitBytes = unitBytes;
    this.healthy = count;
  }

  public int count() {
    return count;
  }

  public long unitBytes() {
    return unitBytes;
  }

  public static String id(int index) {
    return String.format("gib-%04d", index);
  }

  /** The index of {@code id}, or -1 when it is not one of ours. */
  public int index(String id) {
    if (id == null || !id.matches("gib-[0-9]{4,}")) {
      return -1;
    }
    int i = Integer.parseInt(id.substring(4));
    return i < count ? i : -1;
  }

  public synchronized int healthy() {
    return healthy;
  }

  /** Sets health from the pool's usable memory; true when it changed. */
  public synchronized boolean capacity(long usableBytes) {
    int h = (int) Math.min(count, Math.max(0, usableBytes) / unitBytes);
    boolean changed = h != healthy;
    healthy = h;
    return changed;
  }

  public synchronized List<Device> devices() {
    List<Device> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(Device.newBuilder().setID(id(i)).setHealth(i < healthy ? HEALTHY : UNHEALTHY).build());
    }
    return out;
  }

  /**
   * The preferred {@code size} ids: {@code mustInclude} first, then the lowest available ones, healthy
   * before unhealthy, so allocations pack at the low end and the ids that turn unhealthy first (the highest)
   * stay free longest.
   */
  public synchronized List<String> preferred(List<String> available, List<String> mustInclude, int size) {
    if (size < 1 || size > available.size()) {
      throw new IllegalArgumentException("allocation_size=" + size + " is invalid: " + available.size()
          + " devices are available");
    }
    Set<String> out = new LinkedHashSet<>();
    for (String id : mustInclude) {
      check(id, "must_include_deviceIDs");
      out.add(id);
    }
    List<Integer> free = new ArrayList<>();
    for (String id : available) {
      free.add(check(id, "available_deviceIDs"));
    }
    free.sort(Integer::compare);
    for (boolean wantHealthy : new boolean[] {true, false}) {
      for (int i : free) {
        if (out.size() >= size) {
          break;
        }
        if ((i < healthy) == wantHealthy) {
          out.add(id(i));
        }
      }
    }
    return List.copyOf(out).subList(0, Math.min(size, out.size()));
  }

  /** The index of {@code id}; refuses an id that is not ours, naming the field it came in. */
  public int check(String id, String field) {
    int i = index(id);
    if (i < 0) {
      throw new IllegalArgumentException(field + ": " + id + " is not a device of this plugin (gib-0000.."
          + id(count - 1) + ")");
    }
    return i;
  }
}
