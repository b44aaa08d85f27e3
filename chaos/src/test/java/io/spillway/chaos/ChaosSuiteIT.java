package io.spillway.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The whole chaos suite with short phases, on one federation of processes: every scenario must inject
 * its fault while load runs (requests before and after it), and across the suite no request may be
 * lost or answered wrong. Requests that fail with a clear status are allowed (and printed).
 *
 * <p>An integration test (failsafe): {@code verify} runs it, {@code test} does not.
 */
class ChaosSuiteIT {

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
}
