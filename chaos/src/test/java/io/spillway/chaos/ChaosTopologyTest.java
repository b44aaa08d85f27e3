package io.spillway.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The chaos suite's topology, checked without starting it (the suite itself is {@link ChaosSuiteIT}). */
class ChaosTopologyTest {

  @Test
  void topologyIsValidAndSpills() throws Exception {
    var t = ChaosSuite.loadTopology(null);
    assertEquals(2, t.center().gateways().size());
    assertEquals(2, t.center().gpuServers().size());
    assertEquals(1, t.edges().size());
    // The edge's cards hold fewer 2GiB slices than the test's clients: some sessions spill.
    long slots = t.edges().get(0).gpuServers().stream().flatMap(g -> g.gpus().stream())
        .mapToLong(g -> g.count() * ((g.memory().bytes() - g.reserve().bytes()) / Settings.quick().sliceBytes()))
        .sum();
    assertTrue(slots < Settings.quick().clients(), slots + " local slots");
    assertTrue(Duration.ofSeconds(10).compareTo(t.center().leaseDuration()) < 0);
    // The load runs as two tenants, each client with its tenant's token: a token proves one tenant only.
    assertEquals(java.util.List.of("chaos-a", "chaos-b"), t.tenants().stream().map(x -> x.name()).toList());
  }
}
