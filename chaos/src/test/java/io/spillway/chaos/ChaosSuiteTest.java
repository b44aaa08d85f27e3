package io.spillway.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The whole chaos suite with short phases, on one federation of processes: every scenario must inject
 * its fault while load runs (requests before and after it), and across the suite no request may be
 * lost or answered wrong. Requests that fail with a clear status are allowed (and printed).
 */
class ChaosSuiteTest {

  @Test
  @Timeout(value = 9, unit = java.util.concurrent.TimeUnit.MINUTES)
  void everyFaultUnderLoadLosesNothing() throws Exception {
    Settings s = Settings.quick();
    long t0 = System.nanoTime();
    try (ChaosSuite suite = new ChaosSuite(s, System.out)) {
      suite.start();
      Report report = suite.run();
      System.out.printf("chaos suite: %.1f s, start-up included%n", (System.nanoTime() - t0) / 1e9);
      for (Phase p : report.phases()) {
        if (p.name.equals("baseline")) {
          assertTrue(p.correct.sum() > 0, "no correct answer in the baseline");
          continue;
        }
        assertTrue(p.injection.injected(), p.name + ": fault not injected: " + p.injection.what());
        assertTrue(p.sentBeforeFault.sum() > 0, p.name + ": no load before the fault");
        assertTrue(p.completedAfterFault.sum() > 0, p.name + ": no request after the fault completed");
      }
      assertEquals(Settings.ALL.size() + 1, report.phases().size(), "a phase per scenario and the baseline");
      assertEquals(0, report.wrong(), "wrong results");
      assertEquals(0, report.lost(), "lost requests: " + report.problems());
      assertTrue(report.problems().isEmpty(), String.valueOf(report.problems()));
    }
  }

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
  }
}
