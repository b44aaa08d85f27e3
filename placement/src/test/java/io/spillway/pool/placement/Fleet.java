package io.spillway.pool.placement;

import io.spillway.pool.model.GpuSpec;
import io.spillway.pool.registry.NodeRegistration;
import io.spillway.pool.registry.NodeRegistry;
import io.spillway.pool.time.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A registry and a placer wired as a gateway wires them, over a manual clock. */
final class Fleet {
  static final long GIB = 1L << 30;

  final ManualClock clock = ManualClock.atEpochOf2025();
  final NodeRegistry registry = new NodeRegistry(Duration.ofSeconds(10), clock);
  final SlicePlacer placer;

  Fleet(TenantQuotas quotas) {
    placer = new SlicePlacer(quotas);
    registry.addListener(placer);
  }

  Fleet() {
    this(TenantQuotas.unlimited());
  }

  /** Registers a node with {@code count} identical cards, uuids {@code <node>-gpu<i>}. */
  Fleet node(String id, int count, String model, long memoryBytes, long reserveBytes) {
    registry.register(registration(id, count, model, memoryBytes, reserveBytes));
    return this;
  }

  static NodeRegistration registration(
      String id, int count, String model, long memoryBytes, long reserveBytes) {
    List<GpuSpec> gpus = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      gpus.add(new GpuSpec(i, id + "-gpu" + i, model, memoryBytes, "7.0", reserveBytes));
    }
    return new NodeRegistration(id, id + ".local:7000", "edge-1", gpus);
  }

  /** Asserts the placer's invariant on every card of a snapshot; returns the snapshot. */
  static PoolSnapshot assertInvariant(PoolSnapshot snapshot) {
    for (GpuView gpu : snapshot.gpus()) {
      if (gpu.memoryAllocatedBytes() > gpu.memoryLimitBytes() || gpu.memoryAllocatedBytes() < 0) {
        throw new AssertionError("memory overcommitted: " + gpu);
      }
      if (gpu.computeAllocatedPercent() > 100 || gpu.computeAllocatedPercent() < 0) {
        throw new AssertionError("compute overcommitted: " + gpu);
      }
    }
    // The cards' totals must agree with the sessions' slices.
    for (GpuView gpu : snapshot.gpus()) {
      long fromSessions = snapshot.sessions().stream()
          .flatMap(s -> s.slices().stream())
          .filter(s -> s.nodeId().equals(gpu.nodeId()) && s.gpuIndex() == gpu.gpuIndex())
          .mapToLong(Slice::memoryBytes).sum();
      if (fromSessions != gpu.memoryAllocatedBytes()) {
        throw new AssertionError("card " + gpu + " disagrees with sessions: " + fromSessions);
      }
    }
    return snapshot;
  }
}
