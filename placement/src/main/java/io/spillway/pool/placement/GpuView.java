package io.spillway.pool.placement;

import io.spillway.pool.registry.NodeState;

/**
 * One card as the placer saw it at the moment of a {@link SlicePlacer#snapshot()}, for REST, metrics and
 * simulators. A DOWN node's cards are listed with no slices until the node rejoins.
 */
public record GpuView(
    String nodeId,
    String address,
    String pool,
    NodeState nodeState,
    int gpuIndex,
    String uuid,
    String model,
    String computeCapability,
    long memoryTotalBytes,
    long memoryReserveBytes,
    long memoryAllocatedBytes,
    int computeAllocatedPercent,
    int sessionCount) {

  /** Memory slices may add up to: total less reserve. */
  public long memoryLimitBytes() {
    return memoryTotalBytes - memoryReserveBytes;
  }

  /** {@code limit - allocated}; never negative (the placer's invariant). */
  public long memoryFreeBytes() {
    return memoryLimitBytes() - memoryAllocatedBytes;
  }

  public int computeFreePercent() {
    return 100 - computeAllocatedPercent;
  }

  /** allocated / limit, in [0, 1]. */
  public double memoryUtilization() {
    return memoryAllocatedBytes / (double) memoryLimitBytes();
  }

  /** True when at least one session holds a slice here. */
  public boolean busy() {
    return sessionCount > 0;
  }
}
