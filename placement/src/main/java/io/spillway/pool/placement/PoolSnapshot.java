package io.spillway.pool.placement;

import io.spillway.pool.registry.NodeState;
import java.util.List;

/**
 * A consistent view of the whole placer, taken under its lock: every card and every session at one
 * instant. Cards are sorted by node id then GPU index, sessions by id.
 */
public record PoolSnapshot(List<GpuView> gpus, List<SessionView> sessions) {

  public PoolSnapshot {
    gpus = List.copyOf(gpus);
    sessions = List.copyOf(sessions);
  }

  /**
   * Memory utilization of busy cards: allocated over limit, summed over UP cards holding at least one
   * slice. This is the packing figure: BINPACK should keep it high. {@code 0} when no card is busy.
   */
  public double busyCardMemoryUtilization() {
    long allocated = 0;
    long limit = 0;
    for (GpuView gpu : gpus) {
      if (gpu.busy()) {
        allocated += gpu.memoryAllocatedBytes();
        limit += gpu.memoryLimitBytes();
      }
    }
    return limit == 0 ? 0 : allocated / (double) limit;
  }

  /** Number of UP cards with no slice at all. */
  public long idleUpCards() {
    return gpus.stream()
        .filter(g -> g.nodeState() == NodeState.UP && !g.busy())
        .count();
  }
}
