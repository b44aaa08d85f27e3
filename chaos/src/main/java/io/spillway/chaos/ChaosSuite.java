package io.spillway.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.Status;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.launcher.DemoTokens;
import io.spillway.launcher.Federation;
import io.spillway.topology.Edge;
import io.spillway.topology.Gateway;
import io.spillway.topology.GpuServer;
import io.spillway.topology.Tenant;
import io.spillway.topology.Topology;
import io.spillway.topology.TopologyException;
import io.spillway.topology.TopologyLoader;
import io.spillway.workload.MlpModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The chaos suite: a whole federation as processes (see {@link Federation}), load from several
 * {@link LoadClient}s through the edge, and faults injected one scenario after the other, each healed
 * before the next:
 *
 * <ol>
 *   <li>{@code node}: SIGKILL the edge GPU node holding the most sessions, then start it again;
 *   <li>{@code leader}: SIGKILL the center gateway that leads the lease election, then start it again;
 *   <li>{@code kafka}: SIGKILL the broker, keep it down, start it again on the same port and data
 *       (or, with kafka mode {@code pause}, SIGSTOP and SIGCONT it);
 *   <li>{@code cut}: close every edge→center connection at the suite's TCP proxies and refuse new ones
 *       for a while;
 *   <li>{@code revoke}: revoke every GRANTED lease of the edge through the center admin API.
 * </ol>
 *
 * <p>The edge reaches the center gateways only through the proxies ({@code spillway.edge.spill.center}
 * names the proxies' ports), so the link can be cut without touching a process.
 *
 * <p>The federation starts as {@code spillway up} and {@code demo} start theirs ({@link
 * Federation.Options#defaults()}): TLS on every hop, the broker authenticating its users with SCRAM and
 * authorizing them by the lease ACLs, and credentials required. Each load client sends the token of its
 * tenant (the topology's tenants, in turn), the suite reads the gateways' HTTP APIs with the run's
 * read-only token and revokes with its admin token; while the load runs, opens without a token or under
 * another tenant's token must be refused ({@link Refusal}).
 */
final class ChaosSuite implements AutoCloseable {

  /** The suite's own topology, on the class path. */
  static final String TOPOLOGY_RESOURCE = "/io/spillway/chaos/chaos.yaml";

  private final Settings settings;
  private final PrintStream out;
  private final Topology topology;
  private final Edge edge;
  private final MlpModel model = MlpModel.random(2026, 128, 256, 256, 10);
  private final Recorder recorder;
  private final Map<String, TcpProxy> proxies = new LinkedHashMap<>();
  private final List<LoadClient> clients = new ArrayList<>();
  private final Set<String> edgeNodes = new HashSet<>();
  private final Set<String> centerNodes = new HashSet<>();
  /** The tenants the load clients run as, in turn: the topology's tenants of the edge. */
  private final List<String> tenants;
  private final List<Refusal> refusals = new ArrayList<>();
  private Federation federation;
  /** The gateways' HTTP APIs with the run's tokens; set once the federation runs. */
  private Rest rest;
  private Path kafkaData;

  ChaosSuite(Settings settings, PrintStream out) throws IOException, TopologyException {
    this.settings = settings;
    this.out = out;
    this.topology = loadTopology(settings.topologyFile());
    if (topology.edges().size() != 1 || topology.center().gateways().isEmpty()) {
      throw new IllegalArgumentException("the chaos suite needs a topology of one edge and a center; "
          + topology.name() + " has " + topology.edges().size() + " edges and "
          + topology.center().gateways().size() + " center gateways");
    }
    this.edge = topology.edges().get(0);
    edge.gpuServers().forEach(s -> edgeNodes.add(s.name()));
    topology.center().gpuServers().forEach(s -> centerNodes.add(s.name()));
    this.tenants = topology.tenants().stream().filter(t -> t.mayUse(edge.name())).map(Tenant::name).toList();
    if (tenants.isEmpty()) {
      throw new IllegalArgumentException("the chaos suite's load runs as the topology's tenants; "
          + topology.name() + " names none that may use edge " + edge.name());
    }
    this.recorder = new Recorder(1e-4f, settings.requestTimeout());
  }

  /** The suite's topology ({@code chaos.yaml}), or {@code file}; validated by the topology loader. */
  static Topology loadTopology(Path file) throws IOException, TopologyException {
    if (file != null) {
      return TopologyLoader.load(file);
    }
    try (InputStream in = ChaosSuite.class.getResourceAsStream(TOPOLOGY_RESOURCE)) {
      if (in == null) {
        throw new IOException(TOPOLOGY_RESOURCE + " is not on the class path");
      }
      return TopologyLoader.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "chaos.yaml");
    }
  }

  Topology topology() {
    return topology;
  }

  Recorder recorder() {
    return recorder;
  }

  MlpModel model() {
    return model;
  }

  Federation federation() {
    return federation;
  }

  // ---------------------------------------------------------------------------------------------------
  // Start and stop

  /** Starts the proxies, the federation and the load clients. */
  void start() throws Exception {
    checkPortsFree();
    for (Gateway g : topology.center().gateways()) {
      String grpc = g.host() + ":" + g.grpcPort();
      proxies.put(grpc, new TcpProxy(g.name(), grpc));
    }
    out.printf(Locale.ROOT, "Edge-center link through the suite's proxies: %s%n",
        String.join(", ", proxies.values().stream().map(p -> p.address() + " -> " + p.target()).toList()));
    kafkaData = Files.createTempDirectory("spillway-chaos-kafka-");
    Federation.Options options = Federation.Options.defaults()
        .withCenterRoute(grpc -> proxies.containsKey(grpc) ? proxies.get(grpc).address() : grpc)
        .withCenterProperties(List.of("-Dspillway.center.drain-duration=" + settings.drain().toMillis() + "ms"))
        .withKafkaDataDir(kafkaData);
    federation = Federation.start(topology, out, settings.driver(), options);
    federation.keepLogs(settings.keepLogs());
    federation.printAddresses();
    DemoTokens tokens = federation.tokens().orElseThrow(
        () -> new IllegalStateException("the chaos suite's federation runs with credentials"));
    rest = new Rest(tokens.readOnly(), tokens.admin());
    String target = federation.component(edge.name()).grpc();
    for (int i = 0; i < settings.clients(); i++) {
      String tenant = tenants.get(i % tenants.size());
      LoadClient c = new LoadClient(i, tenant, target, o -> federation.client(target, o, tenant), model,
          settings.batch(), settings.sliceBytes(), settings.think(), settings.requestTimeout(), recorder);
      clients.add(c);
      c.start();
    }
    out.printf(Locale.ROOT, "%d load clients of tenants %s, each with its tenant's token, against %s (slice %d MiB, "
        + "batch %d, model %s, %.0f KiB of weights)%n", clients.size(), tenants, target, settings.sliceBytes() >> 20, settings.batch(), "128-256-256-10",
        model.parameterBytes() / 1024.0);
  }

  private void checkPortsFree() {
    Map<Integer, String> ports = new LinkedHashMap<>();
    if (topology.kafka().embedded()) {
      ports.put(topology.kafka().port(), "kafka");
    }
    for (Gateway g : topology.center().gateways()) {
      ports.put(g.grpcPort(), g.name());
      ports.put(g.httpPort(), g.name());
    }
    for (GpuServer s : topology.center().gpuServers()) {
      ports.put(s.nodePort(), s.name());
    }
    ports.put(edge.gateway().grpcPort(), edge.name());
    ports.put(edge.gateway().httpPort(), edge.name());
    for (GpuServer s : edge.gpuServers()) {
      ports.put(s.nodePort(), s.name());
    }
    ports.forEach((port, who) -> {
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      } catch (IOException e) {
        throw new IllegalStateException("port " + port + " (" + who + ") is in use: is another chaos run or "
            + "federation on this machine? (" + e.getMessage() + ")");
      }
    });
  }

  /** Stops the load clients; true if every one ended in time. */
  boolean stopClients() throws InterruptedException {
    clients.forEach(LoadClient::stop);
    boolean all = true;
    for (LoadClient c : clients) {
      all &= c.join(settings.requestTimeout().plusSeconds(15));
    }
    return all;
  }

  @Override
  public void close() {
    clients.forEach(LoadClient::stop);
    proxies.values().forEach(TcpProxy::close);
    if (federation != null) {
      federation.close();
    } else if (kafkaData != null) {
      try (var paths = Files.walk(kafkaData)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // best effort
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // The suite

  /** Runs the baseline and every scenario the settings name, then stops the load and reports. */
  Report run() throws Exception {
    try {
      return runScenarios();
    } catch (Exception | Error e) {
      out.println("the suite failed: " + e);
      printLogTails();
      throw e;
    }
  }

  private Report runScenarios() throws Exception {
    awaitEveryClient();
    out.printf(Locale.ROOT, "baseline: %d s of load without faults%n", settings.warmup().toSeconds());
    long warm = System.nanoTime();
    checkRefusals();
    sleep(settings.warmup().minusNanos(System.nanoTime() - warm));
    for (String s : settings.scenarios()) {
      switch (s) {
        case "node" -> nodeKill();
        case "leader" -> leaderKill();
        case "kafka" -> kafkaOutage();
        case "cut" -> linkCut();
        case "revoke" -> revoke();
        default -> throw new IllegalArgumentException(s);
      }
    }
    recorder.begin(new Phase("stopping", "none"));
    boolean stopped = stopClients();
    Report report = new Report(recorder.phases().stream().filter(p -> !p.name.equals("stopping")).toList(),
        refusals, stopped, settings);
    report.print(out);
    if (!report.problems().isEmpty()) {
      printLogTails();
    }
    return report;
  }

  private void nodeKill() throws Exception {
    Phase p = begin("a. SIGKILL edge GPU node", "SIGKILL of the edge GPU node holding the most sessions");
    sleep(settings.preFault());
    p.centerSessions = clientsOnCenter().size();
    Map<String, Set<Integer>> byNode = edgeSessionsByNode();
    String victim = byNode.entrySet().stream().max((a, b) -> Integer.compare(a.getValue().size(), b.getValue().size()))
        .map(Map.Entry::getKey).orElse(null);
    if (victim == null) {
      p.injection = Phase.Injection.none("no edge GPU node holds a session (edge /sessions: " + byNode + ")");
      out.println("  " + p.injection.what());
      return;
    }
    p.affected = Set.copyOf(byNode.get(victim));
    p.faultNanos = System.nanoTime();
    federation.kill(victim);
    boolean dead = !federation.component(victim).process().isAlive();
    p.injection = new Phase.Injection(dead, "SIGKILL " + victim + " holding " + p.affected.size() + " sessions");
    out.println("  " + p.injection.what());
    sleep(settings.observe());
    federation.restart(victim);
    await("edge node " + victim + " UP again", Duration.ofSeconds(30), () -> nodeUp(victim));
    healed(p, "restarted " + victim);
  }

  private void leaderKill() throws Exception {
    Phase p = begin("b. SIGKILL lease leader", "SIGKILL of the center gateway leading the lease election");
    sleep(settings.preFault());
    p.centerSessions = clientsOnCenter().size();
    String leader = await("a lease leader", Duration.ofSeconds(30), () -> leader() != null) ? leader() : null;
    if (leader == null) {
      p.injection = Phase.Injection.none("no center gateway reports leader=true");
      out.println("  " + p.injection.what());
      return;
    }
    Federation.Component c = federation.component(leader);
    Set<Integer> through = new TreeSet<>();
    for (JsonNode s : rest.get(c.http() + "/sessions")) {
      int i = LoadClient.indexOf(s.path("client").asText(null));
      if (i >= 0) {
        through.add(i);
      }
    }
    p.affected = Set.copyOf(through);
    p.note(p.centerSessions + " sessions on the center, " + through.size() + " of them through " + leader);
    p.faultNanos = System.nanoTime();
    federation.kill(leader);
    boolean dead = !c.process().isAlive();
    p.injection = new Phase.Injection(dead, "SIGKILL " + leader + " (the leader; " + through.size()
        + " sessions through it, " + p.centerSessions + " on the center)");
    out.println("  " + p.injection.what());
    sleep(settings.observe());
    String other = leader();
    p.note("leader " + settings.observe().toSeconds() + " s after the kill: " + (other == null ? "none" : other));
    federation.restart(leader);
    await("a lease leader", Duration.ofSeconds(30), () -> leader() != null);
    healed(p, "restarted " + leader + "; leader now " + leader());
  }

  private void kafkaOutage() throws Exception {
    boolean pause = settings.kafkaMode().equals("pause");
    Phase p = begin("c. Kafka down " + settings.kafkaOutage().toSeconds() + " s",
        pause ? "SIGSTOP/SIGCONT of the broker" : "SIGKILL of the broker, started again on its port and data");
    sleep(settings.preFault());
    Set<Integer> center = clientsOnCenter();
    p.centerSessions = center.size();
    p.affected = Set.copyOf(center);
    if (!federation.components().containsKey("kafka")) {
      p.injection = Phase.Injection.none("the topology's Kafka is not embedded: nothing to stop");
      return;
    }
    Federation.Component k = federation.component("kafka");
    int port = topology.kafka().port();
    p.faultNanos = System.nanoTime();
    boolean down;
    if (pause) {
      k.process().signal("STOP");
      down = k.process().isAlive();
      sleep(settings.kafkaOutage());
      k.process().signal("CONT");
    } else {
      federation.kill("kafka");
      down = !k.process().isAlive() && !accepts(port);
      sleep(settings.kafkaOutage());
      long t = System.nanoTime();
      federation.restart("kafka");
      p.note(String.format(Locale.ROOT, "broker started again in %.1f s: unavailable %.1f s in all", (System.nanoTime() - t) / 1e9,
          (System.nanoTime() - p.faultNanos) / 1e9));
    }
    p.injection = new Phase.Injection(down, (pause ? "SIGSTOP" : "SIGKILL") + " broker :" + port + ", "
        + (pause ? "SIGCONT" : "started again with its data") + " after " + settings.kafkaOutage().toSeconds()
        + " s (" + center.size() + " sessions on the center)");
    out.println("  " + p.injection.what());
    sleep(settings.observe());
    await("a lease leader", Duration.ofSeconds(40), () -> leader() != null);
    healed(p, "leader " + leader());
  }

  private void linkCut() throws Exception {
    Phase p = begin("d. edge-center link cut " + settings.cut().toSeconds() + " s",
        "every proxied edge-center connection closed, new ones refused");
    sleep(settings.preFault());
    Set<Integer> center = clientsOnCenter();
    p.centerSessions = center.size();
    p.affected = Set.copyOf(center);
    p.faultNanos = System.nanoTime();
    int closed = 0;
    for (TcpProxy proxy : proxies.values()) {
      closed += proxy.cut();
    }
    boolean refused = proxies.values().stream().noneMatch(x -> accepts(x.port()));
    sleep(settings.cut());
    for (TcpProxy proxy : proxies.values()) {
      proxy.restore();
    }
    p.injection = new Phase.Injection(closed > 0 && refused, "closed " + closed
        + " proxied connections, refused new ones for " + settings.cut().toSeconds() + " s ("
        + center.size() + " sessions on the center)");
    out.println("  " + p.injection.what());
    sleep(settings.observe());
    healed(p, "link restored");
  }

  private void revoke() throws Exception {
    Phase p = begin("e. revoke leases", "every GRANTED lease of the edge revoked through the admin API");
    sleep(settings.preFault());
    Set<Integer> center = clientsOnCenter();
    p.centerSessions = center.size();
    String http = liveCenterHttp();
    List<String> leases = new ArrayList<>();
    for (JsonNode l : rest.get(http + "/leases?state=GRANTED&edge=" + edge.name())) {
      leases.add(l.path("id").asText());
    }
    p.affected = Set.copyOf(center);
    p.faultNanos = System.nanoTime();
    Map<Integer, Integer> statuses = new java.util.TreeMap<>();
    int revoked = 0;
    for (String id : leases) {
      Rest.Answer a = rest.post(http + "/leases/" + id + "/revoke", "{\"reason\": \"chaos: revoke under load\"}");
      statuses.merge(a.status(), 1, Integer::sum);
      if (a.status() == 200 || a.status() == 202) {
        revoked++;
      } else if (a.status() != 409) {
        p.note("revoke " + id + ": " + a.status() + " " + a.text());
      }
    }
    p.injection = new Phase.Injection(revoked > 0, "revoked " + revoked + " of " + leases.size()
        + " GRANTED leases (answers " + statuses + "; " + center.size() + " sessions on the center; drain "
        + settings.drain().toSeconds() + " s)");
    out.println("  " + p.injection.what());
    Duration observe = settings.observe().compareTo(settings.drain().plusSeconds(3)) > 0
        ? settings.observe() : settings.drain().plusSeconds(3);
    sleep(observe);
    healed(p, "drained");
  }

  /**
   * Opens that the edge must refuse, each on a connection of its own, while the load runs: one with no
   * token ({@code UNAUTHENTICATED}), and one with a tenant's token naming another tenant in
   * {@code Open.tenant} ({@code PERMISSION_DENIED}).
   */
  private void checkRefusals() {
    String target = federation.component(edge.name()).grpc();
    SpillwayClient.Options o = SpillwayClient.Options.defaults().withOpenTimeout(settings.requestTimeout())
        .withCloseTimeout(Duration.ofSeconds(5));
    String own = tenants.get(0);
    String other = tenants.size() > 1 ? tenants.get(1) : own + "-other";
    refusals.add(attempt("an open as tenant " + own + " with no token", Status.Code.UNAUTHENTICATED,
        () -> federation.client(target, o), own));
    refusals.add(attempt("an open as tenant " + other + " with the token of tenant " + own,
        Status.Code.PERMISSION_DENIED, () -> federation.client(target, o, own), other));
    for (Refusal r : refusals) {
      out.printf(Locale.ROOT, "  %s: %s%s%n", r.attempt(), r.refused() ? "refused, " : "NOT REFUSED: ", r.answer());
      recorder.current().note(r.attempt() + ": " + (r.refused() ? "refused, " : "NOT REFUSED: ") + r.answer());
    }
  }

  private Refusal attempt(String what, Status.Code expected, Supplier<SpillwayClient> connect, String tenant) {
    Phase p = recorder.current();
    long correct = p.correct.sum();
    SliceRequest slice = SliceRequest.builder().tenant(tenant).memoryBytes(settings.sliceBytes()).computePercent(0)
        .clientName("chaos-intruder").build();
    String answer;
    boolean refused;
    try (SpillwayClient c = connect.get(); GpuSession s = c.open(slice)) {
      answer = "a session was opened on " + s.devices();
      refused = false;
    } catch (SpillwayException e) {
      answer = e.getMessage();
      refused = e.code() == expected;
    } catch (RuntimeException e) {
      answer = e.toString();
      refused = false;
    }
    return new Refusal(what, expected, answer, refused, p.correct.sum() - correct);
  }

  /** Waits (at most two minutes) until every client has opened its session and answered once. */
  private void awaitEveryClient() throws InterruptedException {
    long t0 = System.nanoTime();
    await("every client's first answer", Duration.ofMinutes(2),
        () -> clients.stream().allMatch(c -> c.lastCorrectNanos() != 0));
    out.printf(Locale.ROOT, "%nevery client answered once after %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  private Phase begin(String name, String fault) {
    out.printf(Locale.ROOT, "%n%s: %s%n", name, fault);
    return recorder.begin(new Phase(name, fault));
  }

  /** Marks the phase healed and waits (at most the settle time) until every client answered again. */
  private void healed(Phase p, String how) throws InterruptedException {
    p.healedNanos = System.nanoTime();
    long deadline = p.healedNanos + settings.settle().toNanos();
    while (System.nanoTime() < deadline && clients.stream().anyMatch(c -> c.lastCorrectNanos() < p.healedNanos)) {
      Thread.sleep(100);
    }
    long late = clients.stream().filter(c -> c.lastCorrectNanos() < p.healedNanos).count();
    String settled = late == 0 ? "every client answered again" : late + " clients had not answered again";
    out.printf(Locale.ROOT, "  healed (%s); %s %.1f s later%n", how, settled, (System.nanoTime() - p.healedNanos) / 1e9);
    p.note("healed: " + how + "; " + settled);
  }

  // ---------------------------------------------------------------------------------------------------
  // The failover gap benchmark

  /**
   * {@code runs} times: SIGKILL the edge GPU node holding the most sessions, measure the time from the
   * kill to each affected session's first correct answer, start the node again.
   */
  GapReport gapBenchmark(int runs) throws Exception {
    awaitEveryClient();
    out.printf(Locale.ROOT, "warm-up: %d s of load%n", settings.warmup().toSeconds());
    sleep(settings.warmup());
    List<GapReport.Run> results = new ArrayList<>();
    List<Long> journal = new ArrayList<>();
    for (int run = 1; run <= runs; run++) {
      Phase p = recorder.begin(new Phase("gap run " + run, "SIGKILL edge GPU node"));
      sleep(settings.preFault());
      Map<String, Set<Integer>> byNode = Map.of();
      long waitUntil = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (System.nanoTime() < waitUntil) {
        byNode = edgeSessionsByNode();
        if (!byNode.isEmpty()) {
          break;
        }
        Thread.sleep(250);
      }
      for (JsonNode s : rest.get(edgeHttp() + "/sessions")) {
        if (s.has("journalBytes") && s.path("journalBytes").isNumber()) {
          journal.add(s.path("journalBytes").asLong());
        }
      }
      String victim = byNode.entrySet().stream().max((a, b) -> Integer.compare(a.getValue().size(), b.getValue().size()))
          .map(Map.Entry::getKey).orElse(null);
      if (victim == null) {
        out.printf(Locale.ROOT, "  run %d: no edge GPU node holds a session; skipped%n", run);
        continue;
      }
      p.affected = Set.copyOf(byNode.get(victim));
      p.faultNanos = System.nanoTime();
      federation.kill(victim);
      p.injection = new Phase.Injection(true, "SIGKILL " + victim);
      long deadline = p.faultNanos + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline && p.gaps.size() < p.affected.size()) {
        Thread.sleep(20);
      }
      List<Double> gaps = p.gapMillis();
      results.add(new GapReport.Run(run, victim, p.affected.size(), gaps, p.failedClear.sum() + p.openFailed.sum(),
          p.lost.sum() + p.wrong.sum(), p.moved.sum()));
      out.printf(Locale.ROOT, "  run %d: killed %s holding %d sessions; %d answered again, max gap %.0f ms%n", run,
          victim, p.affected.size(), gaps.size(), gaps.isEmpty() ? Double.NaN : gaps.get(gaps.size() - 1));
      federation.restart(victim);
      await("edge node " + victim + " UP again", Duration.ofSeconds(30), () -> nodeUp(victim));
      p.healedNanos = System.nanoTime();
    }
    // Read before the clients stop: their sessions (and the counts) end with them.
    long replays = 0;
    boolean replayField = false;
    for (JsonNode s : rest.get(edgeHttp() + "/sessions")) {
      if (s.has("replays")) {
        replayField = true;
        replays += s.path("replays").asLong();
      }
    }
    recorder.begin(new Phase("stopping", "none"));
    stopClients();
    GapReport report = new GapReport(results, journal, topology.heartbeat(), model.parameterBytes(),
        replayField ? replays : -1, recorder.phases().stream().filter(x -> x.name.startsWith("gap run")).toList());
    report.print(out);
    return report;
  }

  // ---------------------------------------------------------------------------------------------------
  // What the gateways say

  private String edgeHttp() {
    return federation.component(edge.name()).http();
  }

  /** Client indexes of the edge's sessions, by the edge GPU node that holds them (/sessions). */
  private Map<String, Set<Integer>> edgeSessionsByNode() {
    Map<String, Set<Integer>> byNode = new java.util.TreeMap<>();
    for (JsonNode s : rest.get(edgeHttp() + "/sessions")) {
      int i = LoadClient.indexOf(s.path("client").asText(null));
      String node = nodeOf(s);
      if (i >= 0 && edgeNodes.contains(node)) {
        byNode.computeIfAbsent(node, k -> new TreeSet<>()).add(i);
      }
    }
    return byNode;
  }

  /** Client indexes of the sessions on the center: by the edge's /sessions, or where clients say they are. */
  private Set<Integer> clientsOnCenter() {
    Set<Integer> on = new TreeSet<>();
    JsonNode sessions = rest.get(edgeHttp() + "/sessions");
    for (JsonNode s : sessions) {
      int i = LoadClient.indexOf(s.path("client").asText(null));
      String node = nodeOf(s);
      if (i >= 0 && (centerNodes.contains(node) || node.startsWith("center") || node.contains(":"))) {
        on.add(i);
      }
    }
    if (sessions.isMissingNode()) {
      clients.stream().filter(c -> c.where().startsWith("center/")).forEach(c -> on.add(c.index()));
    }
    return on;
  }

  /** The node a /sessions entry is on: its first slice's node, or its "node" field. */
  private static String nodeOf(JsonNode session) {
    String slice = session.path("slices").path(0).path("node").asText("");
    return slice.isEmpty() ? session.path("node").asText("") : slice;
  }

  private boolean nodeUp(String node) {
    for (JsonNode n : rest.get(edgeHttp() + "/pool").path("nodes")) {
      if (n.path("id").asText().equals(node) && n.path("state").asText().equals("UP")) {
        return true;
      }
    }
    return false;
  }

  /** The center gateway that reports itself the lease leader, or null. */
  private String leader() {
    for (Federation.Component c : federation.components().values()) {
      if (c.kind().equals(Federation.CENTER_GATEWAY) && c.process().isAlive() && rest.isLeader(c.http())) {
        return c.name();
      }
    }
    return null;
  }

  private String liveCenterHttp() {
    for (Federation.Component c : federation.components().values()) {
      if (c.kind().equals(Federation.CENTER_GATEWAY) && c.process().isAlive()) {
        return c.http();
      }
    }
    throw new IllegalStateException("no center gateway is running");
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private boolean await(String what, Duration max, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(200);
    }
    out.println("  (waited " + max.toSeconds() + " s for " + what + " in vain)");
    recorder.current().note("waited " + max.toSeconds() + " s for " + what + " in vain");
    return false;
  }

  private static void sleep(Duration d) throws InterruptedException {
    if (!d.isNegative()) {
      Thread.sleep(d.toMillis());
    }
  }

  /** Prints the last lines of every component's log, for a failed run. */
  void printLogTails() {
    if (federation == null) {
      return;
    }
    out.println();
    out.println("Log tails (logs in " + federation.logs() + "):");
    federation.printTails(40);
  }
}
