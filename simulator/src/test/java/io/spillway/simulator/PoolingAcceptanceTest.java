package io.spillway.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.simulator.report.MarkdownTable;
import io.spillway.simulator.trace.TraceGenerator;
import io.spillway.simulator.trace.TraceSession;
import io.spillway.topology.Tenant;
import io.spillway.topology.Topology;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The reason to pool: on the province example, under the default generated load (which keeps both edges
 * full), binpack holds at least three times the sessions of one-per-card and keeps busy cards' memory at
 * least 85% used. Six simulated hours, so the test takes about a second.
 */
class PoolingAcceptanceTest {

  @Test
  void binpackHoldsThreeTimesTheTenantsOfOnePerCardWithBusyCardsAtLeast85PercentFull() throws Exception {
    Topology province = Province.load();
    List<TraceSession> trace = TraceGenerator.generate(TraceGenerator.Settings
        .defaults(province.tenants().stream().map(Tenant::name).toList()).withMinutes(6 * 60));
    SimulationResult result = new Simulator(province, 60).run(trace, Policy.ALL);

    PolicyResult onePerCard = result.policy(new Policy(Policy.Packing.ONE_PER_CARD, false));
    PolicyResult binpack = result.policy(new Policy(Policy.Packing.BINPACK, false));
    String table = MarkdownTable.render(result);

    // The load keeps the edges full: both policies turn sessions away during the busy window.
    assertTrue(onePerCard.rejected() > 0 && binpack.rejected() > 0, table);
    // One-per-card can never hold more sessions than the edges have cards.
    assertEquals(16, onePerCard.peakConcurrent(), table);
    // Mean concurrent sessions over the busy window (after the first hour, until the last arrival).
    assertTrue(binpack.meanConcurrent() >= 3 * onePerCard.meanConcurrent(),
        "binpack " + binpack.meanConcurrent() + " vs one-per-card " + onePerCard.meanConcurrent() + "\n" + table);
    assertTrue(binpack.meanBusyMemoryUtilization() >= 0.85, table);

    for (PolicyResult p : result.policies()) {
      assertEquals(trace.size(), p.admitted() + p.rejected(), p.policy() + "\n" + table);
      assertEquals(p.edgeRejections(), p.spilled() + p.rejected(),
          "each edge rejection is dropped, or spilled and then placed or rejected by the center\n" + table);
      assertTrue(p.samples().stream().mapToInt(Sample::concurrent).max().orElseThrow() <= p.peakConcurrent(),
          "no sample exceeds the exact peak");
    }
    // Spill only adds capacity: the center takes what the edges turn away.
    assertTrue(result.policy(new Policy(Policy.Packing.BINPACK, true)).admitted() > binpack.admitted(), table);
  }
}
