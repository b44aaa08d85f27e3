package io.spillway.launcher;

import io.spillway.topology.LocatedTopology;
import io.spillway.topology.Topology;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code spillway up FILE}: the topology on this machine until Ctrl-C or SIGTERM. Checks ports and
 * folders before it starts anything ({@link Preflight}), keeps the logs of the run in a folder that
 * outlives it, starts again each component that exits ({@link Supervisor}), and stops everything in
 * dependency order.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = "Start every component of a topology on this machine, each its own process, until Ctrl-C. "
        + "A component that exits is started again; one that keeps exiting is left down.")
public final class UpCommand implements java.util.concurrent.Callable<Integer> {

  /** Exit code when a component did not start. */
  static final int START_FAILED = 1;
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

  @Parameters(paramLabel = "FILE", description = "The topology file.")
  Path file;

  @Option(names = "--driver", paramLabel = "auto|jcuda|host", defaultValue = "auto", description = "GPU driver of the nodes: auto, jcuda or host (default: ${DEFAULT-VALUE}).")
  String driver;

  @Option(names = "--logs", paramLabel = "DIR",
      description = "Folder for this run's logs, kept after it (default: `./spillway-logs/NAME-TIME`).")
  Path logs;

  @Option(names = "--max-restarts", paramLabel = "<count>", defaultValue = "5",
      description = "Restarts of one component within --restart-window before it is left down (default: ${DEFAULT-VALUE}).")
  int maxRestarts;

  @Option(names = "--restart-window", paramLabel = "<seconds>", defaultValue = "120",
      description = "Seconds over which restarts count towards --max-restarts (default: ${DEFAULT-VALUE}).")
  int restartWindowSeconds;

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    var loaded = Topologies.loadLocated(file);
    if (loaded.isEmpty()) {
      return Topologies.BAD_TOPOLOGY;
    }
    LocatedTopology located = loaded.get();
    Topology t = located.topology();
    Path dir = RunLogs.folder(logs, t.name());
    List<String> problems = new ArrayList<>();
    Preflight.folder(dir, logs == null ? "the run's logs" : "--logs").ifPresent(problems::add);
    problems.addAll(Preflight.ports(located));
    if (!problems.isEmpty()) {
      Preflight.report("up", problems, System.err);
      return Preflight.REFUSED;
    }
    RunLogs.routeToFile(dir);
    out.println("Starting topology '" + t.name() + "' from " + file + "; logs in " + Federation.display(dir));
    // Credentials on (Federation's default): a throwaway signing key for this run in <logs>/auth; the
    // gateways verify with its public half.
    Federation.Options options = Federation.Options.defaults().withLogDir(dir).withDetach(true)
        .withKafkaDataDir(dir.resolve("kafka-data"));
    Federation f;
    try {
      f = Federation.start(t, out, driver, options);
    } catch (Federation.StartFailure e) {
      System.err.println("spillway up: " + e.getMessage());
      System.err.println("Nothing is left running. Logs of every component: " + Federation.display(dir));
      return START_FAILED;
    }
    f.printAddresses();
    f.trustedCa().ifPresent(ca -> out.println("TLS on every hop; clients trust the run's CA " + Federation.display(ca)
        + " (for example spillway run --tls-ca " + Federation.display(ca) + ")"));
    DemoTokens tokens = f.tokens().orElseThrow();
    out.println("Credentials are on. Tokens of this run (24 h) in " + Federation.display(tokens.dir())
        + ": admin.jwt for the console and the admin API, read-only.jwt; a tenant's: spillway token issue --key "
        + Federation.display(tokens.dir().resolve("signing-key.pem")) + " --tenant NAME");
    out.println("Logs in " + Federation.display(dir) + ". A component that exits is started again. "
        + "Ctrl-C stops everything.");

    ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread th = new Thread(r, "spillway-supervisor");
      th.setDaemon(true);
      return th;
    });
    Supervisor supervisor = new Supervisor(target(f), new Report(f, out),
        scheduler(thread, Clock.systemUTC()), new Supervisor.Policy(Duration.ofSeconds(1),
            Duration.ofSeconds(30), maxRestarts, Duration.ofSeconds(restartWindowSeconds)));
    supervisor.supervise(new ArrayList<>(f.components().keySet()));

    CountDownLatch stopped = new CountDownLatch(1);
    f.onShutdown(() -> {
      supervisor.stop();
      out.println("stopping, clients before what they use ...");
      long t0 = System.nanoTime();
      f.stop(name -> out.println("  stopped " + name));
      f.close();
      out.printf(Locale.ROOT, "stopped in %.1f s; logs in %s%n", (System.nanoTime() - t0) / 1e9,
          Federation.display(dir));
      out.flush();
      stopped.countDown();
    });
    stopped.await();
    return 0;
  }

  static Supervisor.Target target(Federation f) {
    return new Supervisor.Target() {
      @Override
      public void watch(String name, java.util.function.IntConsumer onExit) {
        f.watch(name, onExit);
      }

      @Override
      public void restart(String name) throws Exception {
        f.restartServing(name);
      }
    };
  }

  static Supervisor.Scheduler scheduler(ScheduledExecutorService thread, Clock clock) {
    return new Supervisor.Scheduler() {
      @Override
      public Instant now() {
        return clock.instant();
      }

      @Override
      public void execute(Runnable task) {
        thread.execute(task);
      }

      @Override
      public void schedule(Duration delay, Runnable task) {
        thread.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS);
      }
    };
  }

  /** The supervisor's events as console lines, with the log of a component that died. */
  private record Report(Federation f, PrintStream out) implements Supervisor.Events {
    private static final int TAIL = 10;

    @Override
    public void exited(String name, String reason, Duration restartIn) {
      line(name + " (" + f.component(name).kind() + ") exited: " + reason + "; starting it again in "
          + seconds(restartIn));
      tail(name);
    }

    @Override
    public void restarted(String name, int restartsInWindow, Duration took) {
      Federation.Component c = f.component(name);
      line(name + " is up again (pid " + c.process().pid() + ", " + seconds(took) + " to start; restart "
          + restartsInWindow + " in the window)");
    }

    @Override
    public void restartFailed(String name, String why, Duration restartIn) {
      line(name + " did not start again: " + why + "; trying again in " + seconds(restartIn));
      tail(name);
    }

    @Override
    public void leftDown(String name, String reason, int restarts, Duration window) {
      line(name + " is crash-looping (" + restarts + " restarts within " + seconds(window) + ", last: " + reason
          + "); left down until spillway up is run again");
      tail(name);
    }

    private void line(String s) {
      out.println(LocalTime.now().format(CLOCK) + " " + s);
    }

    private void tail(String name) {
      f.printTail(name, f.component(name).process().log(), TAIL);
    }

    private static String seconds(Duration d) {
      return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1e3);
    }
  }
}
