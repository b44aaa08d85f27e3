package io.spillway.chaos;

import io.spillway.node.NodeMain;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code spillway-chaos}: the chaos suite (faults under load against a federation of processes), or
 * with {@code --gap-runs N} the failover gap benchmark.
 */
@Command(name = "spillway-chaos", mixinStandardHelpOptions = true,
    description = {"Starts a federation as processes, runs MLP inference through its edge from several clients, "
        + "and injects faults one after the other: node (SIGKILL an edge GPU node holding sessions), leader "
        + "(SIGKILL the lease leader), kafka (broker down), cut (edge-center link cut at a TCP proxy), revoke "
        + "(leases revoked by the admin API). Prints requests, correct, failed with a clear status, lost and "
        + "wrong per scenario, and the failover gaps. Exit code 0 when nothing was lost or wrong and every "
        + "fault was injected under load.",
        "With --gap-runs N: the failover gap benchmark instead (N node kills, gap p50/p99/max)."})
public final class ChaosMain implements Callable<Integer> {

  @Option(names = "--scenarios", split = ",", defaultValue = "node,leader,kafka,cut,revoke",
      description = "Scenarios, in order (default: ${DEFAULT-VALUE}).")
  List<String> scenarios;

  @Option(names = "--clients", defaultValue = "10", description = "Load clients, each with its own session; the "
      + "edge holds 6 slices, so more spill to the center (default: ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--slice", defaultValue = "2GiB", description = "Each session's slice (default: ${DEFAULT-VALUE}).")
  String slice;

  @Option(names = "--batch", defaultValue = "16", description = "Rows per request (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--think", defaultValue = "50ms", description = "Pause between a client's requests (default: ${DEFAULT-VALUE}).")
  String think;

  @Option(names = "--request-timeout", defaultValue = "60s",
      description = "A request or open not answered within this is lost (default: ${DEFAULT-VALUE}).")
  String requestTimeout;

  @Option(names = "--warmup", defaultValue = "5s", description = "Load before the first fault (default: ${DEFAULT-VALUE}).")
  String warmup;

  @Option(names = "--before", defaultValue = "4s", description = "Load in each scenario before its fault (default: ${DEFAULT-VALUE}).")
  String before;

  @Option(names = "--observe", defaultValue = "10s", description = "Load after each fault before healing (default: ${DEFAULT-VALUE}).")
  String observe;

  @Option(names = "--kafka-outage", defaultValue = "10s", description = "How long the broker is down (default: ${DEFAULT-VALUE}).")
  String kafkaOutage;

  @Option(names = "--kafka-mode", defaultValue = "kill",
      description = "kill (SIGKILL, start again on the same port and data) or pause (SIGSTOP/SIGCONT) (default: ${DEFAULT-VALUE}).")
  String kafkaMode;

  @Option(names = "--cut", defaultValue = "5s", description = "How long the edge-center link is cut (default: ${DEFAULT-VALUE}).")
  String cut;

  @Option(names = "--drain", defaultValue = "5s", description = "The center's drain duration for revoked leases (default: ${DEFAULT-VALUE}).")
  String drain;

  @Option(names = "--settle", defaultValue = "30s",
      description = "Longest wait after healing for every client to answer again (default: ${DEFAULT-VALUE}).")
  String settle;

  @Option(names = "--driver", defaultValue = "host", description = "GPU nodes' driver: host, auto or jcuda (default: ${DEFAULT-VALUE}).")
  String driver;

  @Option(names = "--topology", description = "A topology of one edge and a center instead of the suite's chaos.yaml.")
  Path topology;

  @Option(names = "--gap-runs", defaultValue = "0",
      description = "Run the failover gap benchmark with this many node kills instead of the suite.")
  int gapRuns;

  @Option(names = "--keep-logs", description = "Keep the components' logs after the run.")
  boolean keepLogs;

  public static void main(String[] args) {
    System.exit(new CommandLine(new ChaosMain()).execute(args));
  }

  Settings settings() {
    return new Settings(topology, driver, clients, NodeMain.parseBytes("--slice", slice), batch, duration(think),
        duration(requestTimeout), duration(warmup), duration(before), duration(observe), duration(kafkaOutage),
        duration(cut), duration(drain), duration(settle), scenarios, kafkaMode, keepLogs);
  }

  @Override
  public Integer call() throws Exception {
    long t0 = System.nanoTime();
    Settings s = settings();
    try (ChaosSuite suite = new ChaosSuite(s, System.out)) {
      Runtime.getRuntime().addShutdownHook(new Thread(suite::close, "chaos-shutdown"));
      System.out.println("Starting topology '" + suite.topology().name() + "' ...");
      suite.start();
      boolean ok;
      if (gapRuns > 0) {
        GapReport r = suite.gapBenchmark(gapRuns);
        ok = !r.allGaps().isEmpty();
      } else {
        ok = suite.run().problems().isEmpty();
      }
      System.out.printf(Locale.ROOT, "%.1f s in all, start-up included%n", (System.nanoTime() - t0) / 1e9);
      return ok ? 0 : 1;
    }
  }

  /** {@code 500ms}, {@code 10s}, {@code 2m}, or ISO-8601. */
  static Duration duration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    try {
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      }
      if (t.endsWith("s")) {
        return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
      }
      if (t.endsWith("m")) {
        return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)) * 60);
      }
      return Duration.parse(text);
    } catch (RuntimeException e) {
      throw new CommandLine.TypeConversionException("'" + text + "' is not a duration (500ms, 10s, 2m)");
    }
  }
}
