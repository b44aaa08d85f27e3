package io.spillway.lease.internal;

import io.spillway.lease.CenterInventory;
import io.spillway.pool.placement.CardCapacity;
import io.spillway.protocol.v1.LeaseGrantSlice;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the live (GRANTED or DRAINING) leases hold on each center card, as the lease log says, judged by
 * the one card rule ({@link CardCapacity}, as the placer and the node's slice table judge). This is
 * the book the invariant is stated on: the leader checks every grant against it before writing it, and
 * the checker replays the log into it. Not thread-safe: one owner thread.
 */
public final class CapacityBook {

  private final CenterInventory inventory;
  private final Map<String, List<LeaseGrantSlice>> held = new HashMap<>();
  private final Map<String, long[]> usedByUuid = new HashMap<>(); // {memory bytes, compute percent}

  public CapacityBook(CenterInventory inventory) {
    this.inventory = inventory;
  }

  /**
   * Why these slices do not fit next to what is held now, or empty if they fit: a slice on an unknown
   * card, two slices on one card, or a card whose memory (less reserve) or compute would be exceeded.
   */
  public Optional<String> whyNotFits(List<LeaseGrantSlice> slices) {
    Map<String, Integer> seen = new HashMap<>();
    for (LeaseGrantSlice s : slices) {
      if (seen.merge(s.getGpuUuid(), 1, Integer::sum) > 1) {
        return Optional.of("two slices on gpu " + s.getGpuUuid());
      }
      Optional<CenterInventory.Card> card = inventory.card(s.getGpuUuid());
      if (card.isEmpty()) {
        return Optional.of("gpu " + s.getGpuUuid() + " on node " + s.getNodeId()
            + " is not in the center inventory");
      }
      long[] used = usedByUuid.getOrDefault(s.getGpuUuid(), new long[2]);
      CardCapacity capacity = card.get().capacity();
      if (capacity.fits(used[0], (int) used[1], s.getMemoryBytes(), s.getComputePercent())) {
        continue;
      }
      if (s.getMemoryBytes() > capacity.freeBytes(used[0])) {
        return Optional.of("gpu " + s.getGpuUuid() + " on node " + s.getNodeId() + " would hold "
            + (used[0] + s.getMemoryBytes()) + " bytes of leases, over its limit of "
            + capacity.memoryLimitBytes() + " (memory less reserve)");
      }
      return Optional.of("gpu " + s.getGpuUuid() + " on node " + s.getNodeId() + " would hold "
          + (used[1] + s.getComputePercent()) + "% compute of leases, over "
          + CardCapacity.COMPUTE_LIMIT_PERCENT + "%");
    }
    return Optional.empty();
  }

  /** Records the lease as holding these slices (replacing what it held). Does not check. */
  public void hold(String leaseId, List<LeaseGrantSlice> slices) {
    free(leaseId);
    held.put(leaseId, List.copyOf(slices));
    for (LeaseGrantSlice s : slices) {
      long[] used = usedByUuid.computeIfAbsent(s.getGpuUuid(), k -> new long[2]);
      used[0] += s.getMemoryBytes();
      used[1] += s.getComputePercent();
    }
  }

  /** Forgets what the lease held. Idempotent. */
  public void free(String leaseId) {
    List<LeaseGrantSlice> slices = held.remove(leaseId);
    if (slices == null) {
      return;
    }
    for (LeaseGrantSlice s : slices) {
      long[] used = usedByUuid.get(s.getGpuUuid());
      used[0] -= s.getMemoryBytes();
      used[1] -= s.getComputePercent();
      if (used[0] == 0 && used[1] == 0) {
        usedByUuid.remove(s.getGpuUuid());
      }
    }
  }

  public boolean holds(String leaseId) {
    return held.containsKey(leaseId);
  }

  /** Memory held by leases on a card. */
  public long memoryUsed(String gpuUuid) {
    return usedByUuid.getOrDefault(gpuUuid, new long[2])[0];
  }

  public int computeUsed(String gpuUuid) {
    return (int) usedByUuid.getOrDefault(gpuUuid, new long[2])[1];
  }

  /** Cards over their limits now, described; empty when the invariant holds. */
  public List<String> overcommitted() {
    List<String> out = new ArrayList<>();
    usedByUuid.forEach((uuid, used) -> {
      Optional<CenterInventory.Card> card = inventory.card(uuid);
      if (card.isEmpty()) {
        out.add("leases hold slices on gpu " + uuid + ", which is not in the center inventory");
        return;
      }
      CardCapacity capacity = card.get().capacity();
      if (capacity.freeBytes(used[0]) < 0) {
        out.add("gpu " + uuid + " on node " + card.get().nodeId() + ": leases hold " + used[0]
            + " bytes, limit " + capacity.memoryLimitBytes());
      }
      if (capacity.freeCompute((int) used[1]) < 0) {
        out.add("gpu " + uuid + " on node " + card.get().nodeId() + ": leases hold " + used[1]
            + "% compute, limit 100%");
      }
    });
    return out;
  }

  public void clear() {
    held.clear();
    usedByUuid.clear();
  }
}
