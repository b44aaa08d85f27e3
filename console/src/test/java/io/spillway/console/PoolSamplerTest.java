package io.spillway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.registry.NodeState;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolSamplerTest {

  private static final long GIB = 1L << 30;

  private static GpuView card(String node, String pool, NodeState state, int index, long allocated, int compute) {
    return new GpuView(node, "127.0.0.1:1", pool, state, index, "GPU-" + node + index, "V100", "7.0", 32 * GIB,
        2 * GIB, allocated, compute, allocated > 0 ? 1 : 0);
  }

  @Test
  void sumsEachPoolOverTheCardsOfUpNodesOnly() {
    PoolSnapshot snapshot = new PoolSnapshot(List.of(
        card("a", "edge/x", NodeState.UP, 0, 4 * GIB, 25),
        card("a", "edge/x", NodeState.UP, 1, 6 * GIB, 50),
        card("b", "edge/x", NodeState.DOWN, 0, 0, 0),
        card("c", "center", NodeState.UP, 0, 8 * GIB, 10)), List.of());
    Instant now = Instant.parse("2026-12-01T12:00:00Z");
    Sample s = new PoolSampler(() -> snapshot, () -> 3, () -> 7, () -> 2, PoolSampler.GrantLatency.NONE,
        InstantSource.fixed(now)).sample();
    assertEquals(now, s.at());
    assertEquals(List.of(new Sample.PoolUse("center", 1, 8 * GIB, 30 * GIB, 10),
        new Sample.PoolUse("edge/x", 2, 10 * GIB, 60 * GIB, 75)), s.pools());
    assertEquals(3, s.sessions());
    assertEquals(7, s.spills());
    assertEquals(2, s.moves());
    assertNull(s.leaseGrantMillis());
  }
}
