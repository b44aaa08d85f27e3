package io.spillway.simulator.report;

import io.spillway.simulator.PolicyResult;
import io.spillway.simulator.SimulationResult;
import java.util.Locale;

/** The policies side by side, as a Markdown table. */
public final class MarkdownTable {

  private MarkdownTable() {}

  public static String render(SimulationResult result) {
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT,
        "%s: %d sessions, %d cards; means over the busy window %.0f-%.0f min, sampled every %.0f s%n%n",
        result.topology(), result.sessions(), result.cards().size(), result.windowStartSeconds() / 60,
        result.windowEndSeconds() / 60, result.stepSeconds()));
    s.append("| policy | admitted | rejected | spilled | peak concurrent | mean concurrent | mean busy cards "
        + "| busy-card memory util | busy-card compute util | fragmentation | rejected with room |\n");
    s.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (PolicyResult p : result.policies()) {
      s.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %.1f | %.1f | %.1f%% | %.1f%% | %s | %s |%n",
          p.policy().name(), p.admitted(), p.rejected(), p.spilled(), p.peakConcurrent(), p.meanConcurrent(),
          p.meanBusyCards(), 100 * p.meanBusyMemoryUtilization(), 100 * p.meanBusyComputeUtilization(),
          percent(p.fragmentation()), percent(p.rejectedWithRoom())));
    }
    return s.toString();
  }

  private static String percent(double fraction) {
    return Double.isNaN(fraction) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
  }
}
