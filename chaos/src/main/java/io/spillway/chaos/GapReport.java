package io.spillway.chaos;

import io.spillway.topology.Heartbeat;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The failover gap benchmark's figures. */
final class GapReport {

  /** One kill: the node, the sessions it held, and the gap of each that answered again (ms, ascending). */
  record Run(int run, String node, int sessions, List<Double> gaps, long failedClear, long lostOrWrong, long moved) {}

  private final List<Run> runs;
  private final List<Long> journalBytes;
  private final Heartbeat heartbeat;
  private final long modelBytes;
  private final long replays;
  private final List<Phase> phases;

  GapReport(List<Run> runs, List<Long> journalBytes, Heartbeat heartbeat, long modelBytes, long replays,
      List<Phase> phases) {
    this.runs = List.copyOf(runs);
    this.journalBytes = List.copyOf(journalBytes);
    this.heartbeat = heartbeat;
    this.modelBytes = modelBytes;
    this.replays = replays;
    this.phases = List.copyOf(phases);
  }

  List<Double> allGaps() {
    List<Double> all = new ArrayList<>();
    runs.forEach(r -> all.addAll(r.gaps()));
    all.sort(Double::compare);
    return all;
  }

  void print(PrintStream out) {
    out.println();
    out.println("| run | node killed | sessions on it | answered again | gap p50 ms | gap max ms | failed, clear status | lost or wrong | moved |");
    out.println("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (Run r : runs) {
      out.printf(Locale.ROOT, "| %d | %s | %d | %d | %s | %s | %d | %d | %d |%n", r.run(), r.node(), r.sessions(),
          r.gaps().size(), r.gaps().isEmpty() ? "-" : Report.ms(Report.percentile(r.gaps(), 50)),
          r.gaps().isEmpty() ? "-" : Report.ms(r.gaps().get(r.gaps().size() - 1)), r.failedClear(), r.lostOrWrong(),
          r.moved());
    }
    out.println();
    out.println("Gap: from the SIGKILL to the session's first correct answer to a request sent after it (the client "
        + "pauses between requests, so this includes up to one pause).");
    List<Double> all = allGaps();
    int sessions = runs.stream().mapToInt(Run::sessions).sum();
    out.println();
    if (all.isEmpty()) {
      out.println("No affected session answered again: no gap to report.");
    } else {
      out.printf(Locale.ROOT, "Failover gap over %d runs, %d affected sessions (%d answered again): p50 %.0f ms, "
          + "p99 %.0f ms, max %.0f ms%n", runs.size(), sessions, all.size(), Report.percentile(all, 50),
          Report.percentile(all, 99), all.get(all.size() - 1));
    }
    out.printf(Locale.ROOT, "Heartbeat: interval %d ms, timeout %d ms (a SIGKILL breaks the node's streams at once; "
        + "the timeout matters for a silent node)%n", heartbeat.interval().toMillis(), heartbeat.timeout().toMillis());
    if (journalBytes.isEmpty()) {
      out.printf(Locale.ROOT, "Journal per session: n/a (the edge's /sessions has no journalBytes field); the model's "
          + "weights are %.0f KiB%n", modelBytes / 1024.0);
    } else {
      double mean = journalBytes.stream().mapToLong(Long::longValue).average().orElse(0);
      long max = journalBytes.stream().mapToLong(Long::longValue).max().orElse(0);
      out.printf(Locale.ROOT, "Journal per session (edge /sessions journalBytes, %d samples): mean %.0f KiB, max %.0f KiB "
          + "(model weights %.0f KiB)%n", journalBytes.size(), mean / 1024, max / 1024.0, modelBytes / 1024.0);
    }
    out.println(replays < 0 ? "Replays: n/a (no replays field in /sessions)"
        : "Replays counted by the edge's /sessions before the clients stopped: " + replays);
    for (Phase p : phases) {
      Phase.sorted(p.failures).forEach((k, v) -> out.printf(Locale.ROOT, "- %s: failed with a clear status: %d x %s%n",
          p.name, v, k));
      Phase.sorted(p.lostReasons).forEach((k, v) -> out.printf(Locale.ROOT, "- %s: LOST/WRONG: %d x %s%n", p.name, v, k));
    }
  }
}
