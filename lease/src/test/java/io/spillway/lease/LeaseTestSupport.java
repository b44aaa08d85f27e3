package io.spillway.lease;

import io.spillway.pool.model.GpuSpec;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.placement.TenantQuotas;
import io.spillway.pool.registry.Node;
import io.spillway.pool.registry.NodeState;
import io.spillway.protocol.v1.LeaseSlice;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Center fleets, slices and waiting, for the lease tests. */
final class LeaseTestSupport {

  static final long GIB = 1024L * 1024 * 1024;

  private LeaseTestSupport() {}

  /** A center node with {@code gpus} cards of {@code memGib} GiB, 1 GiB reserved on each. */
  static Node node(String id, int gpus, int memGib, String model) {
    List<GpuSpec> specs = new ArrayList<>();
    for (int i = 0; i < gpus; i++) {
      specs.add(new GpuSpec(i, "GPU-" + id + "-" + i, model, memGib * GIB, "8.0", GIB));
    }
    Instant t = Instant.parse("2025-01-01T00:00:00Z");
    return new Node(id, id + ":7000", "center", specs, NodeState.UP, 1, t, t);
  }

  /** A fresh placer that knows these nodes (one per center replica). */
  static SlicePlacer placer(List<Node> nodes) {
    SlicePlacer placer = new SlicePlacer(TenantQuotas.unlimited());
    nodes.forEach(placer::onNodeUp);
    return placer;
  }

  static LeaseSlice slice(int memGib, int computePercent) {
    return LeaseSlice.newBuilder().setGpuCount(1).setMemoryBytes(memGib * GIB)
        .setComputePercent(computePercent).build();
  }

  /**
   * Short group timeouts so failover tests take seconds; 60 s leases and a 5 s skew margin (the lease
   * defaults before they became 30 s and 2 s), so that grants outlive a slow test run that does not
   * renew them.
   */
  static LeaseConfig fastConfig() {
    return LeaseConfig.defaults()
        .withLeaseDuration(Duration.ofSeconds(60))
        .withSkewMargin(Duration.ofSeconds(5))
        .withSessionTimeout(Duration.ofSeconds(2))
        .withMaxPollInterval(Duration.ofSeconds(3));
  }
}
