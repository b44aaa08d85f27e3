package io.spillway.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import io.spillway.client.DeviceInfo;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.topology.Edge;
import io.spillway.topology.Tenant;
import io.spillway.topology.Topology;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * The workload of {@code spillway demo FILE}: more MLP sessions at each edge than the edge's cards
 * hold, so some spill to the center; halfway, an edge GPU node is killed, so the edge rebuilds its
 * sessions elsewhere (docs/failover.md): the client code here does nothing for it; the SDK's notices
 * ({@link SpillwayClient#onNotice}) tell the story as it happens. Every answer is checked against the
 * CPU.
 */
final class FederationDemo {

  private static final ObjectMapper JSON = new ObjectMapper();

  private record Outcome(String tenant, String edge, List<String> pools, int correct, int wrong, int reopened,
      int moved, Map<String, Histogram> latencyByPool) {}

  private final Federation federation;
  private final PrintStream out;
  private final int sessionsPerEdge;
  private final int requests;
  private final long sliceBytes;
  /** Every gateway's GET /pool, taken once every session is open. */
  private volatile Map<String, JsonNode> busyCards = Map.of();
  private java.util.concurrent.CountDownLatch allOpen;
  private final java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
  /** Where each open session runs now (pool, node), by session id; written on open and on notices. */
  private final Map<String, DeviceInfo> placed = new ConcurrentHashMap<>();
  private final Kill kill = new Kill();

  /**
   * The story of the killed GPU node: which sessions were on it, when each was moved and where, and
   * whether any client saw an error. Written from the workload's threads and gRPC's.
   */
  private final class Kill {
    volatile String victim;
    volatile long atNanos;
    final Set<String> sessions = ConcurrentHashMap.newKeySet();
    final Map<String, DeviceInfo> movedTo = new ConcurrentHashMap<>();
    final AtomicLong lastMoveNanos = new AtomicLong();
    final AtomicInteger clientErrors = new AtomicInteger();
    final AtomicBoolean told = new AtomicBoolean();

    void killed(String node) {
      atNanos = System.nanoTime();
      placed.forEach((id, d) -> {
        if (d.node().equals(node)) {
          sessions.add(id);
        }
      });
      victim = node;
    }

    void moved(String session, DeviceInfo to) {
      if (victim != null && sessions.contains(session) && movedTo.putIfAbsent(session, to) == null) {
        lastMoveNanos.accumulateAndGet(System.nanoTime(), Math::max);
        if (movedTo.size() == sessions.size()) {
          tell();
        }
      }
    }

    /** Prints the event line once: when every session moved, or at the end with what happened. */
    void tell() {
      if (victim == null || !told.compareAndSet(false, true)) {
        return;
      }
      Map<String, Integer> where = new TreeMap<>();
      movedTo.values().forEach(d -> where.merge(d.pool().equals("center") ? "the center" : d.node(), 1, Integer::sum));
      String to = where.size() == 1 ? " to " + where.keySet().iterator().next()
          : " (" + String.join(", ", where.entrySet().stream().map(e -> e.getValue() + " to " + e.getKey()).toList()) + ")";
      int moved = movedTo.size();
      String line = victim + " killed; " + (moved == sessions.size() ? "" : moved + " of ") + sessions.size()
          + (sessions.size() == 1 ? " session" : " sessions") + " moved" + (moved == 0 ? "" : to)
          + (moved == 0 ? "" : String.format(Locale.ROOT, " in %.1f s", (lastMoveNanos.get() - atNanos) / 1e9))
          + ", " + (clientErrors.get() == 0 ? "clients saw no error"
              : clientErrors.get() + " client error(s); those sessions were opened again");
      out.println("  " + line);
    }
  }

  FederationDemo(Federation federation, PrintStream out, int sessionsPerEdge, int requests, long sliceBytes,
      DemoTokens tokens) {
    this.tokens = tokens;
    this.federation = federation;
    this.out = out;
    this.sessionsPerEdge = sessionsPerEdge;
    this.requests = requests;
    this.sliceBytes = sliceBytes;
  }

  /** The run's credentials: a token per tenant, the read-only token for the cards' readout. */
  private final DemoTokens tokens;

  boolean run() throws Exception {
    Topology t = federation.topology();
    MlpModel model = MlpModel.random(2026, 128, 256, 10);
    int total = 0;
    List<Runnable> tasks = new ArrayList<>();
    List<Future<Outcome>> futures = new ArrayList<>();
    int sessions = t.edges().size() * sessionsPerEdge;
    allOpen = new java.util.concurrent.CountDownLatch(sessions);
    ExecutorService pool = Executors.newFixedThreadPool(sessions); // every session open at once
    AtomicInteger done = new AtomicInteger();
    AtomicBoolean killed = new AtomicBoolean();
    Edge victimEdge = t.edges().get(0);
    String victim = victimEdge.gpuServers().get(0).name();
    List<SpillwayClient> clients = new ArrayList<>();
    long openStart = System.nanoTime();
    int all = t.edges().size() * sessionsPerEdge * requests;
    for (Edge e : t.edges()) {
      List<Tenant> tenants = t.tenants().stream().filter(x -> x.mayUse(e.name())).toList();
      // One client per tenant at each edge: a client sends one tenant's token.
      Map<String, SpillwayClient> byTenant = new java.util.HashMap<>();
      for (int i = 0; i < sessionsPerEdge; i++) {
        String tenant = tenants.isEmpty() ? "demo" : tenants.get(i % tenants.size()).name();
        SpillwayClient client = byTenant.computeIfAbsent(tenant, x -> {
          SpillwayClient c = federation.client(federation.components().get(e.name()).grpc(),
              SpillwayClient.Options.defaults()).token(tokens.tenant(x));
          c.onNotice(n -> {
            if (!n.devices().isEmpty()) {
              placed.put(n.sessionId(), n.devices().get(0));
              kill.moved(n.sessionId(), n.devices().get(0));
            }
          });
          clients.add(c);
          return c;
        });
        int seed = total++;
        futures.add(pool.submit(() -> tenant(client, tenant, e.name(), model, seed, () -> {
          if (done.incrementAndGet() >= all / 2 && killed.compareAndSet(false, true)) {
            kill.killed(victim);
            out.printf(Locale.ROOT, "  %d of %d requests done: killing GPU node %s of %s with SIGKILL (%d sessions on it)%n",
                done.get(), all, victim, victimEdge.name(), kill.sessions.size());
            federation.components().get(victim).process().kill();
          }
        })));
      }
    }
    // Every session opens and uploads its model first; then the cards are read, and the requests start.
    if (!allOpen.await(5, TimeUnit.MINUTES)) {
      throw new IllegalStateException("the sessions did not all open within 5 minutes");
    }
    busyCards = cards();
    Map<String, Integer> byPool = new TreeMap<>();
    placed.values().forEach(d -> byPool.merge(d.pool(), 1, Integer::sum));
    out.printf(Locale.ROOT, "  %d sessions open in %.1f s: %s%n", sessions, (System.nanoTime() - openStart) / 1e9,
        String.join(", ", byPool.entrySet().stream().map(x -> x.getValue()
            + (x.getKey().equals("center") ? " spilled to the center" : " at " + x.getKey())).toList()));
    go.countDown();
    List<Outcome> outcomes = new ArrayList<>();
    for (Future<Outcome> f : futures) {
      outcomes.add(f.get(10, TimeUnit.MINUTES));
    }
    pool.shutdown();
    clients.forEach(SpillwayClient::close);
    kill.tell();
    return report(outcomes);
  }

  private interface Progress {
    void requestDone() throws Exception;
  }

  private Outcome tenant(SpillwayClient client, String tenant, String edge, MlpModel model, int seed, Progress p)
      throws Exception {
    SliceRequest slice = SliceRequest.builder().tenant(tenant).memoryBytes(sliceBytes).computePercent(0)
        .clientName("demo/" + edge + "/" + seed).build();
    Map<String, Histogram> latency = new TreeMap<>();
    List<String> pools = new ArrayList<>();
    int correct = 0;
    int wrong = 0;
    int reopened = -1;
    int moved = 0;
    String node = "";
    int batch = 16;
    GpuSession gpu = null;
    MlpService service = null;
    String where = "";
    for (int i = 0; i < requests; ) {
      try {
        if (gpu == null) {
          gpu = client.open(slice);
          placed.put(gpu.sessionId(), gpu.devices().get(0));
          reopened++;
          where = gpu.devices().get(0).pool();
          node = gpu.devices().get(0).node();
          pools.add(where);
          service = new MlpService(gpu, model, batch);
          if (reopened == 0) {
            allOpen.countDown();
            go.await();
          }
        }
        float[] x = model.randomInput(seed * 1000L + i, batch);
        long t0 = System.nanoTime();
        float[] y = service.infer(x, batch);
        latency.computeIfAbsent(where, k -> new Histogram(3_600_000_000_000L, 3)).recordValue(System.nanoTime() - t0);
        if (MlpModel.maxAbsDiff(y, model.forwardCpu(x, batch)) <= 1e-4f) {
          correct++;
        } else {
          wrong++;
        }
        i++;
        String nowOn = gpu.devices().get(0).node();
        if (!nowOn.equals(node)) {
          moved++;
          node = nowOn;
          where = gpu.devices().get(0).pool();
          pools.add(where);
        }
        p.requestDone();
      } catch (SpillwayException e) {
        if (e.code() != Status.Code.UNAVAILABLE || reopened > 20) {
          throw e;
        }
        if (gpu != null && kill.sessions.contains(gpu.sessionId())) {
          kill.clientErrors.incrementAndGet();
        }
        if (gpu != null) {
          placed.remove(gpu.sessionId());
        }
        Sessions.closeQuietly(gpu);
        gpu = null;
        Thread.sleep(200);
      }
    }
    if (gpu != null) {
      placed.remove(gpu.sessionId());
    }
    Sessions.closeQuietly(gpu);
    return new Outcome(tenant, edge, pools, correct, wrong, Math.max(0, reopened), moved, latency);
  }

  /** Each gateway's GET /pool, by gateway name. */
  private Map<String, JsonNode> cards() throws Exception {
    Map<String, JsonNode> out = new java.util.LinkedHashMap<>();
    HttpClient http = HttpClient.newHttpClient();
    for (Federation.Component c : federation.components().values()) {
      if (!c.http().isEmpty()) {
        HttpResponse<String> r = http.send(tokens.reading(HttpRequest.newBuilder(URI.create(c.http() + "/pool"))).build(),
            HttpResponse.BodyHandlers.ofString());
        out.put(c.name(), JSON.readTree(r.body()));
      }
    }
    return out;
  }

  private boolean report(List<Outcome> outcomes) throws Exception {
    int correct = outcomes.stream().mapToInt(Outcome::correct).sum();
    int wrong = outcomes.stream().mapToInt(Outcome::wrong).sum();
    int reopened = outcomes.stream().mapToInt(Outcome::reopened).sum();
    int moved = outcomes.stream().mapToInt(Outcome::moved).sum();
    long spills = outcomes.stream().filter(o -> o.pools().contains("center")).count();
    Map<String, Histogram> byPool = new TreeMap<>();
    for (Outcome o : outcomes) {
      o.latencyByPool().forEach((pool, h) -> byPool.computeIfAbsent(pool,
          k -> new Histogram(3_600_000_000_000L, 3)).add(h));
    }
    out.println();
    out.println("| pool | requests | p50 ms | p99 ms |");
    out.println("| --- | ---: | ---: | ---: |");
    byPool.forEach((pool, h) -> out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f |%n", pool, h.getTotalCount(),
        h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6));
    out.println();
    out.println("Cards with every session open, before the first request (each gateway's GET /pool; the center's");
    out.println("cards as its first replica sees them, and only those holding a slice):");
    out.println();
    out.println("| pool | node | gpu | model | memory allocated | sessions |");
    out.println("| --- | --- | ---: | --- | ---: | ---: |");
    boolean centerShown = false;
    for (Map.Entry<String, JsonNode> e : busyCards.entrySet()) {
      Federation.Component c = federation.components().get(e.getKey());
      boolean center = c.kind().startsWith("center");
      if (center && centerShown) {
        continue;
      }
      centerShown |= center;
      for (JsonNode g : e.getValue().path("gpus")) {
        if (center && g.path("sessions").asInt() == 0) {
          continue;
        }
        double limit = g.path("memoryTotalBytes").asDouble() - g.path("memoryReserveBytes").asDouble();
        out.printf(Locale.ROOT, "| %s | %s | %d | %s | %.1f of %.1f GiB (%.0f%%) | %d |%n", g.path("pool").asText(),
            g.path("node").asText(), g.path("gpuIndex").asInt(), g.path("model").asText(),
            g.path("memoryAllocatedBytes").asDouble() / (1L << 30), limit / (1L << 30),
            100 * g.path("memoryAllocatedBytes").asDouble() / limit, g.path("sessions").asInt());
      }
    }
    out.printf(Locale.ROOT, "%n%d requests: %d correct against the CPU reference, %d wrong; %d sessions ran on "
        + "the center (spilled); %d moved to another slice by the edge without the client noticing; %d opened "
        + "again by the client after an error%n",
        correct + wrong, correct, wrong, spills, moved, reopened);
    boolean ok = wrong == 0 && correct == outcomes.size() * requests;
    out.println(ok ? "RESULT: every result correct" : "RESULT: WRONG RESULTS");
    return ok;
  }

}
