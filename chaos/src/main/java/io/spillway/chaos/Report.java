package io.spillway.chaos;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The suite's figures per phase, and what makes the run a failure. */
final class Report {

  private final List<Phase> phases;
  private final List<Refusal> refusals;
  private final boolean clientsStopped;
  private final Settings settings;

  Report(List<Phase> phases, List<Refusal> refusals, boolean clientsStopped, Settings settings) {
    this.phases = List.copyOf(phases);
    this.refusals = List.copyOf(refusals);
    this.clientsStopped = clientsStopped;
    this.settings = settings;
  }

  List<Phase> phases() {
    return phases;
  }

  /** The attempts the federation had to refuse while the load ran. */
  List<Refusal> refusals() {
    return refusals;
  }

  long total(java.util.function.Function<Phase, java.util.concurrent.atomic.LongAdder> f) {
    return phases.stream().mapToLong(p -> f.apply(p).sum()).sum();
  }

  long lost() {
    return total(p -> p.lost);
  }

  long wrong() {
    return total(p -> p.wrong);
  }

  /** Everything wrong with the run; empty when it passed. */
  List<String> problems() {
    List<String> problems = new ArrayList<>();
    if (lost() > 0) {
      problems.add(lost() + " requests or opens lost (no answer in " + settings.requestTimeout().toSeconds()
          + " s, or no clear status)");
    }
    if (wrong() > 0) {
      problems.add(wrong() + " wrong results");
    }
    if (!clientsStopped) {
      problems.add("some load clients did not stop in time");
    }
    if (refusals.isEmpty()) {
      problems.add("no attempt without a valid credential was made");
    }
    for (Refusal r : refusals) {
      if (!r.refused()) {
        problems.add(r.attempt() + ": expected " + r.expected() + ", got " + r.answer());
      }
    }
    for (Phase p : phases) {
      if (p.name.equals("baseline")) {
        if (p.correct.sum() == 0) {
          problems.add("baseline: no correct answer before the first fault");
        }
        continue;
      }
      if (!p.injection.injected()) {
        problems.add(p.name + ": fault not injected: " + p.injection.what());
      }
      if (p.sentBeforeFault.sum() == 0) {
        problems.add(p.name + ": no request sent before the fault");
      }
      if (p.completedAfterFault.sum() == 0) {
        problems.add(p.name + ": no request sent after the fault completed correctly");
      }
    }
    return problems;
  }

  void print(PrintStream out) {
    out.println();
    out.println("| scenario | requests | correct | failed, clear status | lost | wrong | opens (failed) "
        + "| before / after fault | on center | sessions affected | answered again | moved | gap p50 ms | gap max ms | max stall ms |");
    out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (Phase p : phases) {
      List<Double> gaps = p.gapMillis();
      out.printf(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %d (%d) | %d / %d | %s | %s | %s | %d | %s | %s | %s |%n",
          p.name, p.sent.sum(), p.correct.sum(), p.failedClear.sum(), p.lost.sum(), p.wrong.sum(), p.opens.sum(),
          p.openFailed.sum(), p.sentBeforeFault.sum(), p.completedAfterFault.sum(),
          p.centerSessions < 0 ? "-" : String.valueOf(p.centerSessions),
          p.faulted() ? String.valueOf(p.affected.size()) : "-", p.faulted() ? String.valueOf(gaps.size()) : "-",
          p.moved.sum(), gaps.isEmpty() ? "-" : ms(percentile(gaps, 50)), gaps.isEmpty() ? "-" : ms(gaps.get(gaps.size() - 1)),
          p.faulted() ? ms(p.maxStallNanos.get() / 1e6) : "-");
    }
    out.printf(Locale.ROOT, "| **all** | %d | %d | %d | %d | %d | %d (%d) | | | | | %d | | | |%n",
        total(p -> p.sent), total(p -> p.correct), total(p -> p.failedClear), lost(), wrong(), total(p -> p.opens),
        total(p -> p.openFailed), total(p -> p.moved));
    out.println();
    out.println("\"before / after fault\": requests sent before the fault / requests sent after it that completed "
        + "correctly. \"gap\": from the fault to the first correct answer of each affected session (its client) to a request sent "
        + "after the fault. "
        + "\"max stall\": the longest any client went without a correct answer after the fault.");
    for (Phase p : phases) {
      out.println();
      out.println("**" + p.name + "**: " + (p.faulted() ? p.injection.what() : p.fault)
          + (p.faulted() && !p.injection.injected() ? " (NOT INJECTED)" : ""));
      for (String n : p.notes) {
        out.println("- " + n);
      }
      for (Map.Entry<String, Long> e : Phase.sorted(p.failures).entrySet()) {
        out.printf(Locale.ROOT, "- failed with a clear status: %d x %s%n", e.getValue(), e.getKey());
      }
      for (Map.Entry<String, Long> e : Phase.sorted(p.lostReasons).entrySet()) {
        out.printf(Locale.ROOT, "- LOST/WRONG: %d x %s%n", e.getValue(), e.getKey());
      }
    }
    out.println();
    out.println("| attempt while the load runs | expected | answer | load's correct answers meanwhile |");
    out.println("| --- | --- | --- | ---: |");
    for (Refusal r : refusals) {
      out.printf(Locale.ROOT, "| %s | %s | %s%s | %d |%n", r.attempt(), r.expected(), r.refused() ? "" : "NOT REFUSED: ",
          r.answer().replace("|", "\\|"), r.correctDuring());
    }
    List<String> problems = problems();
    out.println();
    if (problems.isEmpty()) {
      out.println("RESULT: no request lost or wrong; every fault injected under load; every attempt without a "
          + "valid credential refused");
    } else {
      out.println("RESULT: FAILED");
      problems.forEach(x -> out.println("- " + x));
    }
  }

  static double percentile(List<Double> sorted, double pct) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    int i = (int) Math.ceil(pct / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
  }

  static String ms(double v) {
    return String.format(Locale.ROOT, "%.0f", v);
  }
}
