package io.spillway.console;

import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.registry.NodeState;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Takes one {@link Sample} from a gateway's placer and counters. Plain Java: the gateway apps pass the
 * placer's snapshot and their meters as suppliers, a test passes its own.
 */
public final class PoolSampler {

  /** Mean lease-grant latency since the previous call, or null when nothing was granted meanwhile. */
  @FunctionalInterface
  public interface GrantLatency {
    Double drainMeanMillis();

    GrantLatency NONE = () -> null;
  }

  private final Supplier<PoolSnapshot> snapshot;
  private final IntSupplier sessions;
  private final LongSupplier spills;
  private final LongSupplier moves;
  private final GrantLatency grants;
  private final InstantSource clock;

  public PoolSampler(Supplier<PoolSnapshot> snapshot, IntSupplier sessions, LongSupplier spills,
      LongSupplier moves, GrantLatency grants, InstantSource clock) {
    this.snapshot = snapshot;
    this.sessions = sessions;
    this.spills = spills;
    this.moves = moves;
    this.grants = grants;
    this.clock = clock;
  }

  public Sample sample() {
    Map<String, long[]> byPool = new TreeMap<>();
    for (GpuView g : snapshot.get().gpus()) {
      if (g.nodeState() != NodeState.UP) {
        continue;
      }
      long[] a = byPool.computeIfAbsent(g.pool(), p -> new long[4]);
      a[0]++;
      a[1] += g.memoryAllocatedBytes();
      a[2] += g.memoryTotalBytes() - g.memoryReserveBytes();
      a[3] += g.computeAllocatedPercent();
    }
    List<Sample.PoolUse> pools = new ArrayList<>();
    byPool.forEach((pool, a) -> pools.add(new Sample.PoolUse(pool, (int) a[0], a[1], a[2], (int) a[3])));
    return new Sample(clock.instant(), pools, sessions.getAsInt(), spills.getAsLong(), moves.getAsLong(),
        grants.drainMeanMillis());
  }
}
