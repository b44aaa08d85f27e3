package io.spillway.simulator.cli;

import io.spillway.simulator.Policy;
import io.spillway.simulator.SimulationResult;
import io.spillway.simulator.Simulator;
import io.spillway.simulator.report.CardSamplesCsv;
import io.spillway.simulator.report.MarkdownTable;
import io.spillway.simulator.report.Plots;
import io.spillway.simulator.trace.TraceCsv;
import io.spillway.simulator.trace.TraceFormatException;
import io.spillway.simulator.trace.TraceGenerator;
import io.spillway.simulator.trace.TraceSession;
import io.spillway.topology.Tenant;
import io.spillway.topology.Topology;
import io.spillway.topology.TopologyException;
import io.spillway.topology.TopologyLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code spillway simulate}: replays a trace (given, or generated) through the pool's placement code
 * under six policies and prints a table; writes the plots, the per-card samples and the trace used.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = {
        "Capacity planning: replay a trace of sessions through the real slice placer of every edge and the "
            + "center, under one-per-card, binpack and spread, each with and without spill to the center.",
        "No GPU, no network: a day of trace takes seconds. See docs/benchmarks.md."})
public final class SimulateCommand implements Callable<Integer> {

  @Spec
  CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "TOPOLOGY", description = "The topology YAML file.")
  Path topology;

  @Parameters(index = "1", arity = "0..1", paramLabel = "TRACE",
      description = "A CSV trace (" + TraceCsv.HEADER + "). Without it, one is generated.")
  Path trace;

  @Option(names = "--generate-minutes", paramLabel = "N", defaultValue = "1440",
      description = "Length of the generated trace's arrival window, minutes (default: ${DEFAULT-VALUE}).")
  double minutes;

  @Option(names = "--rate", paramLabel = "R", defaultValue = "6",
      description = "Generated arrivals per minute, Poisson (default: ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
      description = "Seed of the generated trace (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--step", paramLabel = "SECONDS", defaultValue = "60",
      description = "Sampling step, simulated seconds (default: ${DEFAULT-VALUE}).")
  double step;

  @Option(names = "--out", paramLabel = "DIR", defaultValue = "simulate-out",
      description = "Where the plots, per-card samples and trace go (default: ${DEFAULT-VALUE}).")
  Path out;

  public static void main(String[] args) {
    System.setProperty("java.awt.headless", "true");
    System.exit(new CommandLine(new SimulateCommand()).execute(args));
  }

  @Override
  public Integer call() throws IOException {
    System.setProperty("java.awt.headless", "true");
    PrintWriter stdout = spec.commandLine().getOut();
    PrintWriter stderr = spec.commandLine().getErr();
    Topology topo;
    try {
      topo = TopologyLoader.load(topology);
    } catch (TopologyException e) {
      stderr.println(e.getMessage());
      return 2;
    }
    List<TraceSession> sessions;
    String source;
    if (trace != null) {
      try {
        sessions = TraceCsv.read(trace);
      } catch (TraceFormatException e) {
        stderr.println(e.getMessage());
        return 2;
      }
      source = trace.toString();
    } else {
      List<String> tenants = topo.tenants().stream().map(Tenant::name).toList();
      if (tenants.isEmpty()) {
        stderr.println(topology + ": the topology lists no tenants; a generated trace draws its tenants "
            + "from `tenants`. Add some, or give a TRACE.");
        return 2;
      }
      TraceGenerator.Settings settings;
      try {
        settings = TraceGenerator.Settings.defaults(tenants).withMinutes(minutes).withRate(rate).withSeed(seed);
      } catch (IllegalArgumentException e) {
        stderr.println(e.getMessage());
        return 2;
      }
      sessions = TraceGenerator.generate(settings);
      source = String.format(Locale.ROOT, "generated: %.0f min at %.2f/min, seed %d", minutes, rate, seed);
    }
    SimulationResult result;
    try {
      result = new Simulator(topo, step).run(sessions, Policy.ALL);
    } catch (IllegalArgumentException e) {
      stderr.println(e.getMessage());
      return 2;
    }
    Files.createDirectories(out);
    Path memoryPng = out.resolve("busy-card-memory-utilization.png");
    Path sessionsPng = out.resolve("concurrent-sessions.png");
    Path cardsCsv = out.resolve("card-samples.csv");
    Path traceCsv = out.resolve("trace.csv");
    Plots.busyMemoryUtilization(result, memoryPng);
    Plots.concurrentSessions(result, sessionsPng);
    CardSamplesCsv.write(result, cardsCsv);
    try (Writer w = Files.newBufferedWriter(traceCsv, StandardCharsets.UTF_8)) {
      TraceCsv.write(Simulator.inArrivalOrder(sessions), w);
    }
    stdout.println("trace: " + source);
    stdout.print(MarkdownTable.render(result));
    stdout.println();
    stdout.println("plots: " + memoryPng + ", " + sessionsPng);
    stdout.println("per-card utilization over time: " + cardsCsv);
    stdout.println("trace replayed: " + traceCsv);
    stdout.flush();
    return 0;
  }
}
