package io.spillway.topology;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shipped examples load, and their values (including filled-in defaults) come out as written. */
class ExamplesTest {
  private static final Path EXAMPLES = Path.of("examples");

  @Test
  void provinceLoads() throws Exception {
    Topology t = TopologyLoader.load(EXAMPLES.resolve("province.yaml"));

    assertEquals("province", t.name());
    assertTrue(t.kafka().embedded());
    assertEquals(19092, t.kafka().port());
    assertEquals(List.of("center-gw-1", "center-gw-2"), t.center().gateways().stream().map(Gateway::name).toList());
    GpuGroup a100 = t.center().gpuServers().get(0).gpus().get(0);
    assertEquals(GpuModel.A100, a100.model());
    assertEquals(80L << 30, a100.memory().bytes());
    assertEquals(1L << 30, a100.reserve().bytes());
    assertEquals(79L << 30, a100.usableMemory().bytes());
    assertEquals(16, t.center().gpuServers().stream().mapToInt(GpuServer::gpuCount).sum());
    assertEquals(Duration.ofSeconds(30), t.center().leaseDuration());
    assertEquals(Duration.ofSeconds(3), t.center().skewMargin());

    Edge west = t.edge("edge-west").orElseThrow();
    assertEquals(List.of(GpuModel.V100, GpuModel.P40),
        west.gpuServers().get(0).gpus().stream().map(GpuGroup::model).toList());
    assertEquals(24L << 30, west.gpuServers().get(0).gpus().get(1).memory().bytes());
    assertEquals(512L << 20, west.gpuServers().get(0).gpus().get(1).reserve().bytes());
    assertEquals(SpillMode.ABOVE_UTILIZATION, west.spill().mode());
    assertEquals(85, west.spill().threshold());
    assertEquals(Failback.NEVER, west.failback());
    Edge east = t.edge("edge-east").orElseThrow();
    assertEquals(3, east.appServers().size());
    assertEquals(Failback.WHEN_IDLE, east.failback());
    assertEquals(90, east.spill().threshold(), "default threshold");

    Tenant speech = t.tenant("speech").orElseThrow();
    assertEquals(256L << 30, speech.maxMemory().bytes());
    assertTrue(speech.mayUse("edge-east"));
    assertFalse(speech.mayUse("edge-west"));
    assertTrue(t.tenant("search-ranking").orElseThrow().mayUse("edge-west"), "no edges listed: every edge");
    assertEquals(Duration.ofSeconds(2), t.heartbeat().interval());
  }

  @Test
  void minimalLoadsWithDefaults() throws Exception {
    Topology t = TopologyLoader.load(EXAMPLES.resolve("minimal.yaml"));

    assertEquals(9092, t.kafka().port());
    assertNull(t.kafka().bootstrap());
    assertEquals(Duration.ofSeconds(30), t.center().leaseDuration());
    assertEquals(Duration.ofSeconds(10), t.center().renewInterval());
    assertEquals(Duration.ofSeconds(2), t.center().skewMargin());
    Edge edge = t.edges().get(0);
    assertNull(edge.region());
    assertEquals(List.of(), edge.appServers());
    assertEquals(SpillMode.WHEN_FULL, edge.spill().mode());
    assertEquals(Failback.NEVER, edge.failback());
    GpuGroup v100 = edge.gpuServers().get(0).gpus().get(0);
    assertEquals(1, v100.count(), "default count");
    assertEquals(DataSize.ZERO, v100.reserve(), "default reserve");
    assertEquals(32L << 30, v100.memory().bytes());
    assertEquals(2, t.center().gpuServers().get(0).gpus().get(0).count());
    assertEquals(List.of(), t.tenants());
    assertEquals(Duration.ofSeconds(5), t.heartbeat().interval());
    assertEquals(Duration.ofSeconds(15), t.heartbeat().timeout());
  }
}
