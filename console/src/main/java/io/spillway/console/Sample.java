package io.spillway.console;

import java.time.Instant;
import java.util.List;

/**
 * A gateway's utilization at one instant.
 *
 * @param pools memory and compute allocated on each pool the gateway places on (one for an edge or a
 *     center)
 * @param sessions sessions the gateway forwards now
 * @param spills sessions spilled to the center since the gateway started (a counter: the console draws
 *     its increase)
 * @param moves sessions rebuilt on another slice since the gateway started (a counter)
 * @param leaseGrantMillis mean time from a lease request to its grant over the leases granted since the
 *     previous sample; null when none was granted or the gateway does not see grants
 */
public record Sample(Instant at, List<PoolUse> pools, int sessions, long spills, long moves,
    Double leaseGrantMillis) {

  public Sample {
    pools = List.copyOf(pools);
  }

  /**
   * One pool's allocation over the cards of its UP nodes.
   *
   * @param memoryLimitBytes memory slices may take (total less reserve)
   * @param computeAllocatedPercent compute shares summed over the cards (a full card is 100)
   */
  public record PoolUse(String pool, int cards, long memoryAllocatedBytes, long memoryLimitBytes,
      int computeAllocatedPercent) {}
}
