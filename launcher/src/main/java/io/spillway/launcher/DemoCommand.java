package io.spillway.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.node.NodeMain;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code spillway demo}: an edge site on this machine, each part its own process: an edge gateway and
 * GPU nodes registering with it. Several tenants run MLP inference through the gateway, sharing cards;
 * halfway through, a GPU node is killed with SIGKILL. Every answer is checked against the CPU.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run an edge gateway and GPU nodes, and MLP inference for several tenants through them.")
public final class DemoCommand implements Callable<Integer> {

  @Option(names = "--tenants", defaultValue = "6", description = "Concurrent tenants (default: ${DEFAULT-VALUE}).")
  int tenants;

  @Option(names = "--requests", defaultValue = "24", description = "Requests per tenant (default: ${DEFAULT-VALUE}).")
  int requests;

  @Option(names = "--batch", defaultValue = "32", description = "Rows per request (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--nodes", defaultValue = "2", description = "GPU nodes (default: ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--cards", defaultValue = "2", description = "Cards per node with the host driver (default: ${DEFAULT-VALUE}).")
  int cards;

  @Option(names = "--driver", paramLabel = "auto|jcuda|host", defaultValue = "auto", description = "auto, jcuda or host (default: ${DEFAULT-VALUE}).")
  String driver;

  @Option(names = "--no-kill", description = "Do not kill a GPU node halfway.")
  boolean noKill;

  @picocli.CommandLine.Parameters(arity = "0..1", paramLabel = "FILE",
      description = "A topology: run the whole federation it describes (with Kafka, center and edges) "
          + "and a workload that spills. Without it: one edge site.")
  java.nio.file.Path topologyFile;

  @Option(names = "--sessions-per-edge", defaultValue = "20",
      description = "With FILE: MLP sessions opened at each edge (default: ${DEFAULT-VALUE}).")
  int sessionsPerEdge;

  @Option(names = "--slice", paramLabel = "<size>", defaultValue = "12GiB",
      description = "With FILE: memory of each session's slice (default: ${DEFAULT-VALUE}).")
  String slice;

  @Option(names = "--logs", paramLabel = "DIR",
      description = "Folder for this run's logs, kept after it (default: `./spillway-logs/demo-NAME-TIME`).")
  Path logs;

  private static final ObjectMapper JSON = new ObjectMapper();

  private record TenantResult(String tenant, Set<String> nodes, int sent, int correct, int wrong,
      List<String> failures, Histogram latency) {}

  @Override
  public Integer call() throws Exception {
    if (topologyFile != null) {
      return federationDemo();
    }
    long t0 = System.nanoTime();
    Path dir = RunLogs.folder(logs, "demo-site");
    var folderProblem = Preflight.folder(dir, logs == null ? "the run's logs" : "--logs");
    if (folderProblem.isPresent()) {
      Preflight.report("demo", List.of(folderProblem.get()), System.err);
      return Preflight.REFUSED;
    }
    RunLogs.routeToFile(dir);
    DemoTokens tokens = DemoTokens.create(dir.resolve("auth"));
    try (Site site = new Site(dir, false)) {
      int grpc = Site.freePort();
      int http = Site.freePort();
      DemoPki pki = DemoPki.create(dir.resolve("pki"));
      List<String> edgeProps = new ArrayList<>(List.of(
          "-Dspillway.edge.name=edge-demo", "-Dspillway.edge.pool=edge/demo",
          "-Dspillway.edge.grpc.port=" + grpc, "-Dquarkus.http.port=" + http,
          "-Dspillway.edge.heartbeat.interval=500ms", "-Dspillway.edge.heartbeat.timeout=2s"));
      edgeProps.addAll(pki.edgeProperties("edge-demo", "edge/demo", "127.0.0.1"));
      edgeProps.addAll(tokens.gatewayProperties());
      for (int t = 0; t < tenants; t++) {
        edgeProps.add("-Dspillway.edge.tenants.\"" + tenantName(t) + "\".max-sessions=4");
      }
      System.out.printf(Locale.ROOT, "Starting an edge gateway (gRPC :%d, HTTP :%d) and %d GPU nodes "
          + "(%d x V100 32GiB each when no CUDA driver is present) ...%n", grpc, http, nodes, cards);
      String edge = site.start("edge-gateway", GatewayProcess.command(edgeProps));
      List<ChildProcess> gpuNodes = new ArrayList<>();
      for (int i = 1; i <= nodes; i++) {
        List<String> nodeArgs = new ArrayList<>(List.of("--port", "0",
            "--node-id", "node-" + i, "--pool", "edge/demo", "--driver", driver, "--gateway", edge,
            "--heartbeat-interval", "500", "--host-cards", String.valueOf(cards), "--host-model", "V100",
            "--host-memory", "32GiB"));
        nodeArgs.addAll(pki.nodeArgs("node-" + i, "edge/demo", "127.0.0.1"));
        gpuNodes.add(site.startJava("gpu-node-" + i, NodeMain.class.getName(), nodeArgs));
      }
      String base = "http://127.0.0.1:" + http;
      site.awaitHttp(base + "/q/health/ready", body -> pool(base, tokens).path("nodes").size() == nodes);
      System.out.printf(Locale.ROOT, "Site ready in %.1f s: edge gateway %s, %d nodes registered (logs: %s)%n%n",
          (System.nanoTime() - t0) / 1e9, edge, nodes, Federation.display(site.logs()));
      System.out.println("Console: " + base + "/console/ (credentials are on: sign in with the admin token in "
          + Federation.display(tokens.dir().resolve("admin.jwt")) + ")\n");

      MlpModel model = MlpModel.random(2026, 256, 512, 512, 10);
      AtomicInteger done = new AtomicInteger();
      AtomicBoolean killed = new AtomicBoolean(noKill);
      int total = tenants * requests;
      List<TenantResult> results = new ArrayList<>();
      List<SpillwayClient> clients = new ArrayList<>();
      try {
        ExecutorService pool = Executors.newFixedThreadPool(tenants);
        List<Future<TenantResult>> futures = new ArrayList<>();
        for (int t = 0; t < tenants; t++) {
          String tenant = tenantName(t);
          int seed = t;
          // Each tenant proves itself with its own token.
          SpillwayClient client = pki.client(edge).build().token(tokens.tenant(tenant));
          clients.add(client);
          futures.add(pool.submit(() -> runTenant(client, tenant, model, seed, () -> {
            if (done.incrementAndGet() >= total / 2 && killed.compareAndSet(false, true)) {
              ChildProcess victim = gpuNodes.get(0);
              System.out.printf(Locale.ROOT, "  %d of %d requests done: killing %s (pid %d) with SIGKILL%n",
                  done.get(), total, victim.name(), victim.pid());
              victim.kill();
            }
          })));
        }
        for (Future<TenantResult> f : futures) {
          results.add(f.get(10, TimeUnit.MINUTES));
        }
        pool.shutdown();
      } finally {
        clients.forEach(SpillwayClient::close);
      }
      printTenants(results);
      printCards(pool(base, tokens));
      int correct = results.stream().mapToInt(TenantResult::correct).sum();
      int wrong = results.stream().mapToInt(TenantResult::wrong).sum();
      int failed = results.stream().mapToInt(r -> r.failures().size()).sum();
      System.out.printf(Locale.ROOT, "%n%d requests: %d correct against the CPU reference, %d failed with a "
          + "clear status and were retried on a new session, %d wrong; %.1f s in all%n",
          results.stream().mapToInt(TenantResult::sent).sum(), correct, failed, wrong,
          (System.nanoTime() - t0) / 1e9);
      System.out.println(wrong == 0 && correct == total ? "RESULT: every result correct" : "RESULT: WRONG RESULTS");
      return wrong == 0 && correct == total ? 0 : 1;
    }
  }

  private int federationDemo() throws Exception {
    long t0 = System.nanoTime();
    var loaded = Topologies.loadLocated(topologyFile);
    if (loaded.isEmpty()) {
      return Topologies.BAD_TOPOLOGY;
    }
    io.spillway.topology.Topology t = loaded.get().topology();
    Path dir = RunLogs.folder(logs, "demo-" + t.name());
    List<String> problems = new ArrayList<>();
    Preflight.folder(dir, logs == null ? "the run's logs" : "--logs").ifPresent(problems::add);
    problems.addAll(Preflight.ports(loaded.get()));
    if (!problems.isEmpty()) {
      Preflight.report("demo", problems, System.err);
      return Preflight.REFUSED;
    }
    RunLogs.routeToFile(dir);
    System.out.println("Starting topology '" + t.name() + "' from " + topologyFile + "; logs in "
        + Federation.display(dir));
    // TLS and credentials on (Federation's defaults), as for spillway up and the chaos suite.
    Federation.Options options = Federation.Options.defaults().withLogDir(dir)
        .withProgress(new ProgressLine(System.out, System.console() != null));
    Federation started;
    try {
      started = Federation.start(t, System.out, driver, options);
    } catch (Federation.StartFailure e) {
      System.err.println("spillway demo: " + e.getMessage());
      System.err.println("Nothing is left running. Logs of every component: " + Federation.display(dir));
      return 1;
    }
    try (Federation f = started) {
      System.out.printf(Locale.ROOT, "Running %d MLP sessions at each of %d edges, %d requests each ...%n",
          sessionsPerEdge, t.edges().size(), requests);
      boolean ok = new FederationDemo(f, System.out, sessionsPerEdge, requests,
          NodeMain.parseBytes("--slice", slice), f.tokens().orElseThrow()).run();
      System.out.printf(Locale.ROOT, "%.1f s in all, start-up included%n", (System.nanoTime() - t0) / 1e9);
      return ok ? 0 : 1;
    }
  }

  private interface Progress {
    void requestDone() throws Exception;
  }

  /**
   * Start-up as one line: rewritten in place on a terminal; elsewhere (a file, a test) a line per
   * component, so that the output stays readable.
   */
  static final class ProgressLine implements Federation.Progress {
    private final java.io.PrintStream out;
    private final boolean terminal;
    private final long t0 = System.nanoTime();
    private int width;

    ProgressLine(java.io.PrintStream out, boolean terminal) {
      this.out = out;
      this.terminal = terminal;
    }

    @Override
    public void starting(int index, int total, String name, String what) {
      String line = String.format(Locale.ROOT, "  starting the federation: %d of %d, %s (%s), %.0f s", index, total,
          name, what, (System.nanoTime() - t0) / 1e9);
      if (terminal) {
        out.print("\r" + line + " ".repeat(Math.max(0, width - line.length())));
        width = line.length();
      } else {
        out.println(line);
      }
      out.flush();
    }

    @Override
    public void up(int total, java.time.Duration took) {
      String line = String.format(Locale.ROOT, "  federation up: %d components, healthy in %.1f s", total,
          took.toMillis() / 1e3);
      out.println(terminal ? "\r" + line + " ".repeat(Math.max(0, width - line.length())) : line);
    }
  }

  /**
   * One tenant's inference service. When its node dies the session fails with UNAVAILABLE: the service
   * opens a new session (the gateway places it on a surviving node), uploads its weights again and
   * retries the request. Transparent failover inside the gateway is not built yet.
   */
  private TenantResult runTenant(SpillwayClient client, String tenant, MlpModel model, int seed,
      Progress progress) throws Exception {
    SliceRequest slice = SliceRequest.builder().tenant(tenant).memoryBytes(4L << 30).computePercent(25)
        .clientName("demo/" + tenant).build();
    Histogram latency = new Histogram(3_600_000_000_000L, 3);
    Set<String> usedNodes = new LinkedHashSet<>();
    List<String> failures = new ArrayList<>();
    int sent = 0;
    int correct = 0;
    int wrong = 0;
    GpuSession gpu = null;
    MlpService service = null;
    for (int i = 0; i < requests; ) {
      float[] x = model.randomInput(seed * 100_000L + i, batch);
      try {
        if (gpu == null) {
          gpu = client.open(slice);
          usedNodes.add(gpu.devices().get(0).node());
          service = new MlpService(gpu, model, batch);
        }
        long start = System.nanoTime();
        sent++;
        float[] y = service.infer(x, batch);
        latency.recordValue(System.nanoTime() - start);
        if (MlpModel.maxAbsDiff(y, model.forwardCpu(x, batch)) <= 1e-4f) {
          correct++;
        } else {
          wrong++;
        }
        i++;
        progress.requestDone();
      } catch (SpillwayException e) {
        if (e.code() != Status.Code.UNAVAILABLE || failures.size() >= 20) {
          throw e;
        }
        failures.add(e.getMessage());
        Sessions.closeQuietly(gpu);
        gpu = null;
        Thread.sleep(100); // the gateway may not have noticed the node's death yet
      }
    }
    Sessions.closeQuietly(gpu);
    return new TenantResult(tenant, usedNodes, sent, correct, wrong, failures, latency);
  }

  private static String tenantName(int t) {
    return "tenant-" + (char) ('a' + t);
  }

  private static JsonNode pool(String base, DemoTokens tokens) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        tokens.reading(HttpRequest.newBuilder(URI.create(base + "/pool"))).build(), HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }

  private static void printTenants(List<TenantResult> results) {
    System.out.println();
    System.out.println("| tenant | nodes used | requests sent | correct | failed (status) | wrong | p50 ms | p99 ms |");
    System.out.println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (TenantResult r : results) {
      System.out.printf(Locale.ROOT, "| %s | %s | %d | %d | %d | %d | %.1f | %.1f |%n", r.tenant(),
          String.join(" -> ", r.nodes()), r.sent(), r.correct(), r.failures().size(), r.wrong(),
          r.latency().getValueAtPercentile(50) / 1e6, r.latency().getValueAtPercentile(99) / 1e6);
    }
    results.stream().flatMap(r -> r.failures().stream()).findFirst()
        .ifPresent(f -> System.out.println("\nA failure as the client saw it: " + f));
    if (System.getenv("SPILLWAY_DEMO_DEBUG") != null) { results.forEach(r -> r.failures().forEach(System.out::println)); }
  }

  private static void printCards(JsonNode pool) {
    System.out.println();
    System.out.println("Cards at the end, as the gateway's GET /pool reports them:");
    System.out.println();
    System.out.println("| node | state | gpu | model | memory allocated | compute allocated | sessions |");
    System.out.println("| --- | --- | ---: | --- | ---: | ---: | ---: |");
    for (JsonNode g : pool.path("gpus")) {
      System.out.printf(Locale.ROOT, "| %s | %s | %d | %s | %.0f of %.0f GiB | %d%% | %d |%n",
          g.path("node").asText(), g.path("nodeState").asText(), g.path("gpuIndex").asInt(),
          g.path("model").asText(), g.path("memoryAllocatedBytes").asDouble() / (1L << 30),
          (g.path("memoryTotalBytes").asDouble() - g.path("memoryReserveBytes").asDouble()) / (1L << 30), g.path("computeAllocatedPercent").asInt(),
          g.path("sessions").asInt());
    }
  }

}
