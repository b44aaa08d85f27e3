package io.spillway.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The whole chaos suite with short phases, on one federation of processes: every scenario must inject
 * its fault while load runs (requests before and after it), and across the suite no request may be
 * lost or answered wrong. Requests that fail with a clear status are allowed (and printed). The
 * federation runs as the demo's does, with TLS and credentials on, and opens without a valid credential
 * are refused while the load runs.
 *
 * <p>An integration test (failsafe): {@code verify} runs it, {@code test} does not.
 */
class ChaosSuiteIT {

  @Test
  // About 5 minutes on a quiet 2-core machine; start-up alone took 167 s with other builds running.
  @Timeout(value = 12, unit = java.util.concurrent.TimeUnit.MINUTES)
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
      // Credentials are on: opens without a token, or under another tenant's, were refused while the load ran.
      assertEquals(2, report.refusals().size(), String.valueOf(report.refusals()));
      assertEquals(Status.Code.UNAUTHENTICATED, report.refusals().get(0).expected());
      for (Refusal r : report.refusals()) {
        assertTrue(r.refused(), r.attempt() + ": " + r.answer());
      }
      assertEquals(0, report.wrong(), "wrong results");
      assertEquals(0, report.lost(), "lost requests: " + report.problems());
      assertTrue(report.problems().isEmpty(), String.valueOf(report.problems()));
    }
  }
}
