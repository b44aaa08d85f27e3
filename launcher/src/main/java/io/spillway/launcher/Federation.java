package io.spillway.launcher;

import io.spillway.kafka.KafkaMain;
import io.spillway.node.NodeMain;
import io.spillway.topology.Edge;
import io.spillway.topology.Gateway;
import io.spillway.topology.GpuGroup;
import io.spillway.topology.GpuServer;
import io.spillway.topology.Tenant;
import io.spillway.topology.Topology;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A whole topology on this machine, every component its own process: the Kafka broker (embedded, when
 * the file asks for one), the center gateways and their GPU nodes, the edge gateways and theirs. GPU
 * nodes use the JCuda driver where a CUDA driver answers, and otherwise emulate the cards the file
 * declares. Closing it stops every process in dependency order (clients before what they use: GPU
 * nodes and edges before the center, Kafka last) and removes the logs unless {@link Options#logDir()}
 * names a folder to keep them in.
 *
 * <p>Components can be killed and started again ({@link #kill}, {@link #restart}) with the command line
 * they were first started with, which is what the chaos suite ({@code chaos/}) does.
 */
public final class Federation implements AutoCloseable {

  /** Component kinds, as {@link Component#kind()} names them. */
  public static final String KAFKA = "kafka";
  public static final String CENTER_GATEWAY = "center gateway";
  public static final String EDGE_GATEWAY = "edge gateway";
  public static final String GPU_NODE = "GPU node";

  /**
   * A started component and where to reach it.
   *
   * @param pool for a GPU node, the pool it serves ({@code center} or {@code edge/<edge>}); for an edge
   *     gateway {@code edge/<edge>}; for a center gateway {@code center}; empty for Kafka
   */
  public record Component(String kind, String name, String grpc, String http, ChildProcess process, String pool) {
    Component(String kind, String name, String grpc, String http, ChildProcess process) {
      this(kind, name, grpc, http, process, "");
    }

    Component withProcess(ChildProcess p) {
      return new Component(kind, name, grpc, http, p, pool);
    }
  }

  /**
   * How to start a topology beyond what the file says; {@link #defaults()} is what {@code spillway up}
   * and {@code spillway demo} use.
   *
   * @param centerRoute maps a center gateway's gRPC address to the address edge gateways dial for it
   *     (a test puts a proxy in between); identity by default
   * @param centerProperties extra {@code -Dkey=value} settings for every center gateway
   * @param edgeProperties extra {@code -Dkey=value} settings for every edge gateway
   * @param kafkaDataDir where the embedded broker keeps its data so that it can be killed and started
   *     again with its topics and records (deleted on close); null: a temporary directory of the broker's
   *     own, lost when it stops
   * @param tmp where the temporary log directory is created when {@code logDir} is null
   * @param logDir the folder for the components' logs, created if needed and kept on close; null: a
   *     temporary directory under {@code tmp}, removed on close
   * @param detach each process in a session of its own, so that Ctrl-C in a terminal reaches only this
   *     JVM, which stops them in order (see {@link Site#Site(Path, boolean)})
   * @param progress how start-up is shown; null: a line per component on the federation's output
   * @param tls a throwaway CA for the run ({@link DemoPki}) and TLS on every hop, components
   *     authenticating each other with its certificates; clients use {@link Federation#client}
   * @param credentials a throwaway signing key for the run ({@link DemoTokens}, under {@code <logs>/auth}):
   *     every gateway verifies tokens with it, so edges require a tenant's token and the admin API a
   *     bearer token; {@link Federation#tokens()} issues them
   */
  public record Options(UnaryOperator<String> centerRoute, List<String> centerProperties,
      List<String> edgeProperties, Path kafkaDataDir, Path tmp, Path logDir, boolean detach, Progress progress,
      boolean tls, boolean credentials) {
    public Options {
      centerProperties = List.copyOf(centerProperties);
      edgeProperties = List.copyOf(edgeProperties);
    }

    public static Options defaults() {
      return new Options(UnaryOperator.identity(), List.of(), List.of(), null,
          Path.of(System.getProperty("java.io.tmpdir")), null, false, null, true, true);
    }

    public Options withCenterRoute(UnaryOperator<String> route) {
      return new Options(route, centerProperties, edgeProperties, kafkaDataDir, tmp, logDir, detach, progress, tls, credentials);
    }

    public Options withCenterProperties(List<String> props) {
      return new Options(centerRoute, props, edgeProperties, kafkaDataDir, tmp, logDir, detach, progress, tls, credentials);
    }

    public Options withEdgeProperties(List<String> props) {
      return new Options(centerRoute, centerProperties, props, kafkaDataDir, tmp, logDir, detach, progress, tls, credentials);
    }

    public Options withKafkaDataDir(Path dir) {
      return new Options(centerRoute, centerProperties, edgeProperties, dir, tmp, logDir, detach, progress, tls, credentials);
    }

    public Options withLogDir(Path dir) {
      return new Options(centerRoute, centerProperties, edgeProperties, kafkaDataDir, tmp, dir, detach, progress, tls, credentials);
    }

    public Options withDetach(boolean detached) {
      return new Options(centerRoute, centerProperties, edgeProperties, kafkaDataDir, tmp, logDir, detached, progress, tls, credentials);
    }

    /** With TLS on every hop (the default) or, false, everything in plaintext. */
    public Options withTls(boolean on) {
      return new Options(centerRoute, centerProperties, edgeProperties, kafkaDataDir, tmp, logDir, detach, progress,
          on, credentials);
    }

    /**
     * With credentials required (the default: tenants' tokens at the edges, bearer tokens for the admin
     * API) or, false, gateways that believe what a call says.
     */
    public Options withCredentials(boolean on) {
      return new Options(centerRoute, centerProperties, edgeProperties, kafkaDataDir, tmp, logDir, detach, progress,
          tls, on);
    }

    public Options withProgress(Progress p) {
      return new Options(centerRoute, centerProperties, edgeProperties, kafkaDataDir, tmp, logDir, detach, p, tls, credentials);
    }
  }

  /** How start-up is shown, component by component. Called on the starting thread. */
  public interface Progress {
    /** Component {@code index} (1-based) of {@code total} is being started. */
    void starting(int index, int total, String name, String what);

    /** Every component is up and healthy. */
    void up(int total, Duration took);
  }

  /** A component did not start: it exited, or did not say it was ready in time. */
  public static final class StartFailure extends Exception {
    private final String component;
    private final Path log;

    StartFailure(String component, Path log, String message, Throwable cause) {
      super(message, cause);
      this.component = component;
      this.log = log;
    }

    public String component() {
      return component;
    }

    /** Its log, which is kept. */
    public Path log() {
      return log;
    }
  }

  private final Topology topology;
  private final Site site;
  private final PrintStream out;
  private final String driver;
  private final Options options;
  private final Map<String, Component> components = new LinkedHashMap<>();
  private final Progress progress;
  private String kafka;
  /** The run's CA and certificates; null in plaintext. */
  private DemoPki pki;
  /** The run's signing key and tokens; null without credentials. */
  private DemoTokens tokens;
  /** The embedded broker's users, ACLs and lease signing keys; null when Kafka is not embedded. */
  private DemoKafkaSecurity kafkaSecurity;
  /** The component being started, for naming it when its start fails. */
  private String starting;
  private int started;

  private Federation(Topology topology, Site site, PrintStream out, String driver, Options options) {
    this.topology = topology;
    this.site = site;
    this.out = out;
    this.driver = driver;
    this.options = options;
    this.progress = options.progress() != null ? options.progress() : new Progress() {
      @Override
      public void starting(int index, int total, String name, String what) {
        out.printf(Locale.ROOT, "  [%d/%d] starting %-14s %s%n", index, total, name, what);
      }

      @Override
      public void up(int total, Duration took) {
        out.printf(Locale.ROOT, "all %d components up and healthy in %.1f s%n", total, took.toMillis() / 1e3);
      }
    };
  }

  /** Starts everything the topology describes and waits until every gateway is ready. */
  public static Federation start(Topology t, PrintStream out, String driver) throws Exception {
    return start(t, out, driver, Options.defaults());
  }

  /** Starts everything the topology describes, as {@code options} say, and waits until every gateway is ready. */
  public static Federation start(Topology t, PrintStream out, String driver, Options options) throws Exception {
    Site site = options.logDir() == null ? new Site(options.tmp()) : new Site(options.logDir(), options.detach());
    Federation f = new Federation(t, site, out, driver, options);
    try {
      f.startAll();
      return f;
    } catch (Exception | Error e) {
      String failed = f.starting;
      if (failed == null) {
        f.printTails(20);
        f.close();
        throw e;
      }
      Path log = f.site.logs().resolve(failed + ".log");
      // The tail first: once the rest is stopped, the log fills with complaints about what went away.
      f.printTail(failed, log, 20);
      f.keepLogs(true);
      f.close();
      throw new StartFailure(failed, log, failed + " did not start: " + e.getMessage(), e);
    }
  }

  /** How many processes {@code t} has on this machine. */
  static int componentCount(Topology t) {
    int n = (t.kafka().embedded() ? 1 : 0) + t.center().gateways().size() + t.center().gpuServers().size();
    for (Edge e : t.edges()) {
      n += 1 + e.gpuServers().size();
    }
    return n;
  }

  private void startAll() throws Exception {
    long t0 = System.nanoTime();
    if (options.tls()) {
      pki = DemoPki.create(site.logs().resolve("pki"));
    }
    if (options.credentials()) {
      tokens = DemoTokens.create(site.logs().resolve("auth"));
    }
    if (topology.kafka().embedded()) {
      step("kafka", "embedded KRaft broker");
      // With TLS the broker too serves SASL_SSL, with a certificate of the run's CA.
      kafkaSecurity = DemoKafkaSecurity.create(options.kafkaDataDir(), options.tmp(),
          pki == null ? null : pki.kafkaBroker("127.0.0.1"));
      List<String> args = new ArrayList<>(kafkaSecurity.brokerArgs());
      args.add(String.valueOf(topology.kafka().port()));
      if (options.kafkaDataDir() != null) {
        args.add(options.kafkaDataDir().toAbsolutePath().toString());
      }
      ChildProcess k = site.startJava("kafka", KafkaMain.class.getName(), args);
      kafka = "127.0.0.1:" + topology.kafka().port();
      components.put("kafka", new Component(KAFKA, "kafka", kafka, "", k));
      kafkaSecurity.provision(kafka, topology.edges().stream().map(Edge::name).toList());
    } else {
      kafka = topology.kafka().bootstrap();
    }
    Duration lease = topology.center().leaseDuration();
    String consolePeers = consolePeers(topology);
    List<String> centerGrpc = new ArrayList<>();
    for (Gateway g : topology.center().gateways()) {
      step(g.name(), "center gateway");
      String grpc = g.host() + ":" + g.grpcPort();
      ChildProcess p = site.startProcess(g.name(), GatewayProcess.command("center-gateway", concat(concat(List.of(
          "-Dspillway.center.name=" + g.name(), "-Dspillway.center.member-id=" + g.name(),
          "-Dspillway.center.grpc.host=" + g.host(), "-Dspillway.center.grpc.port=" + g.grpcPort(),
          "-Dquarkus.http.port=" + g.httpPort(), "-Dspillway.center.kafka-bootstrap=" + kafka,
          "-Dspillway.center.lease-duration=" + millis(lease),
          "-Dspillway.center.skew-margin=" + millis(topology.center().skewMargin()),
          "-Dspillway.center.heartbeat.interval=" + millis(topology.heartbeat().interval()),
          "-Dspillway.center.heartbeat.timeout=" + millis(topology.heartbeat().timeout()),
          // Leases are granted on the cards registered when leasing starts: wait for every server.
          "-Dspillway.center.leasing.min-nodes=" + topology.center().gpuServers().size(), consolePeers),
          kafkaSecurity == null ? List.of() : kafkaSecurity.centerProperties(),
          pki == null ? List.of() : pki.centerProperties(g.name(), "center", g.host())),
          tokens == null ? List.of() : tokens.gatewayProperties(), options.centerProperties())));
      components.put(g.name(), new Component(CENTER_GATEWAY, g.name(), grpc,
          "http://" + g.host() + ":" + g.httpPort(), p, "center"));
      centerGrpc.add(grpc);
    }
    for (GpuServer s : topology.center().gpuServers()) {
      startNode(s, "center", centerGrpc);
    }
    for (Edge e : topology.edges()) {
      step(e.name(), "edge gateway");
      String grpc = e.gateway().host() + ":" + e.gateway().grpcPort();
      List<String> props = new ArrayList<>(List.of(
          "-Dspillway.edge.name=" + e.name(), "-Dspillway.edge.pool=edge/" + e.name(),
          "-Dspillway.edge.grpc.host=" + e.gateway().host(), "-Dspillway.edge.grpc.port=" + e.gateway().grpcPort(),
          "-Dquarkus.http.port=" + e.gateway().httpPort(), consolePeers,
          "-Dspillway.edge.heartbeat.interval=" + millis(topology.heartbeat().interval()),
          "-Dspillway.edge.heartbeat.timeout=" + millis(topology.heartbeat().timeout()),
          "-Dspillway.edge.spill.enabled=true", "-Dspillway.edge.spill.kafka-bootstrap=" + kafka,
          // Every replica: the edge fails over between them (comma-separated list).
          "-Dspillway.edge.spill.center=" + String.join(",", centerGrpc.stream().map(options.centerRoute()).toList()),
          "-Dspillway.edge.failback=" + (e.failback() == null ? "never" : e.failback().label()),
          "-Dspillway.edge.spill.mode=" + e.spill().mode().label(),
          "-Dspillway.edge.spill.threshold=" + e.spill().threshold(),
          "-Dspillway.edge.spill.lease-duration=" + millis(lease),
          "-Dspillway.edge.spill.skew-margin=" + millis(topology.center().skewMargin()),
          "-Dspillway.edge.spill.renew-interval=" + millis(topology.center().renewInterval())));
      for (Tenant tenant : topology.tenants()) {
        if (tenant.mayUse(e.name())) {
          props.add("-Dspillway.edge.tenants.\"" + tenant.name() + "\".max-sessions=" + tenant.maxSessions());
          props.add("-Dspillway.edge.tenants.\"" + tenant.name() + "\".max-memory=" + tenant.maxMemory().bytes());
        }
      }
      if (pki != null) {
        props.addAll(pki.edgeProperties(e.name(), "edge/" + e.name(), e.gateway().host()));
      }
      if (kafkaSecurity != null) {
        props.addAll(kafkaSecurity.edgeProperties(e.name()));
      }
      if (tokens != null) {
        props.addAll(tokens.edgeProperties(topology));
      }
      props.addAll(options.edgeProperties());
      ChildProcess p = site.startProcess(e.name(), GatewayProcess.command("edge-gateway", props));
      components.put(e.name(), new Component(EDGE_GATEWAY, e.name(), grpc,
          "http://" + e.gateway().host() + ":" + e.gateway().httpPort(), p, "edge/" + e.name()));
      for (GpuServer s : e.gpuServers()) {
        startNode(s, "edge/" + e.name(), List.of(grpc));
      }
    }
    for (Component c : components().values()) {
      if (!c.http().isEmpty()) {
        starting = c.name();
        site.awaitHttp(c.http() + "/q/health/ready", body -> true);
      }
    }
    starting = null;
    progress.up(components.size(), Duration.ofNanos(System.nanoTime() - t0));
  }

  private void startNode(GpuServer s, String pool, List<String> gateways) throws Exception {
    step(s.name(), "GPU node, " + s.gpuCount() + " GPUs");
    List<String> args = new ArrayList<>(List.of("--host", s.host(), "--port", String.valueOf(s.nodePort()),
        "--node-id", s.name(), "--pool", pool, "--driver", driver, "--heartbeat-interval",
        String.valueOf(topology.heartbeat().interval().toMillis())));
    long reserve = 0;
    for (GpuGroup g : s.gpus()) {
      args.add("--host-card-group");
      args.add(g.count() + "x" + g.model().label() + ":" + g.memory().bytes());
      reserve = Math.max(reserve, g.reserve().bytes());
    }
    args.add("--reserve");
    args.add(String.valueOf(reserve));
    for (String gateway : gateways) {
      args.add("--gateway");
      args.add(gateway);
    }
    if (pki != null) {
      args.addAll(pki.nodeArgs(s.name(), pool, s.host()));
    }
    ChildProcess p = site.startJava(s.name(), NodeMain.class.getName(), args);
    components.put(s.name(), new Component(GPU_NODE, s.name(), s.host() + ":" + s.nodePort(), "", p, pool));
  }

  /** Every gateway shows the whole federation in its console (docs/console.md): all of them are its peers. */
  private static String consolePeers(Topology t) {
    List<String> peers = new ArrayList<>();
    t.center().gateways().forEach(g -> peers.add(g.name() + "=http://" + g.host() + ":" + g.httpPort()));
    t.edges().forEach(e -> peers.add(e.name() + "=http://" + e.gateway().host() + ":" + e.gateway().httpPort()));
    return "-Dspillway.console.peers=" + String.join(",", peers);
  }

  @SafeVarargs
  private static List<String> concat(List<String>... parts) {
    List<String> all = new ArrayList<>();
    for (List<String> p : parts) {
      all.addAll(p);
    }
    return all;
  }

  private static String millis(Duration d) {
    return d.toMillis() + "ms";
  }

  private void step(String name, String what) {
    starting = name;
    progress.starting(++started, componentCount(topology), name, what);
  }

  /** Every component by name, in start order. */
  public Map<String, Component> components() {
    synchronized (components) {
      return new LinkedHashMap<>(components);
    }
  }

  /** One component by name. */
  public Component component(String name) {
    synchronized (components) {
      Component c = components.get(name);
      if (c == null) {
        throw new IllegalArgumentException("no component " + name + "; there are " + components.keySet());
      }
      return c;
    }
  }

  /** SIGKILL: the component dies at once, as when its server loses power. */
  public void kill(String name) throws InterruptedException {
    component(name).process().kill();
  }

  /**
   * Starts a component again with the command line it was first started with (killing it first if it
   * still runs) and waits for its {@code READY} line; a gateway also for its readiness probe.
   */
  public Component restart(String name) throws Exception {
    return restart(name, "/q/health/ready");
  }

  /**
   * {@link #restart}, but a gateway counts as started once it is live (serving), not ready: an edge is
   * ready only once a GPU node registered again, which takes the nodes' reconnect backoff and is no
   * reason to start the gateway once more.
   */
  public Component restartServing(String name) throws Exception {
    return restart(name, "/q/health/live");
  }

  private Component restart(String name, String probe) throws Exception {
    Component old = component(name);
    ChildProcess p = site.restart(old.process());
    Component c = old.withProcess(p);
    synchronized (components) {
      components.put(name, c);
    }
    if (!c.http().isEmpty()) {
      site.awaitHttp(c.http() + probe, body -> true);
    }
    return c;
  }

  /** Prints the last {@code lines} lines of every component's log (after a failure: the logs go on close). */
  public void printTails(int lines) {
    for (Component c : components().values()) {
      out.println("---- " + c.name() + " (" + c.kind() + ", " + (c.process().isAlive() ? "running" : "exited")
          + "), " + c.process().log());
      out.println(c.process().tail(lines));
    }
  }

  /** Prints the last {@code lines} lines of {@code name}'s log and where the whole log is. */
  void printTail(String name, Path log, int lines) {
    out.println("---- last " + lines + " lines of " + display(log) + " ----");
    out.println(ChildProcess.tail(log, lines));
    out.println("----");
  }

  /** {@code path} relative to the current directory when under it: shorter, and still valid to open. */
  static String display(Path path) {
    Path cwd = Path.of("").toAbsolutePath();
    Path abs = path.toAbsolutePath().normalize();
    return abs.startsWith(cwd) && !abs.equals(cwd) ? cwd.relativize(abs).toString() : abs.toString();
  }

  /** Calls {@code onExit} with the exit code once the current process of component {@code name} ends. */
  public void watch(String name, java.util.function.IntConsumer onExit) {
    component(name).process().onExit(onExit);
  }

  /** The last {@code lines} lines of a component's log. */
  public String tail(String name, int lines) {
    return component(name).process().tail(lines);
  }

  /**
   * Installs {@code hook} as what happens on Ctrl-C or SIGTERM, instead of the default (stop every
   * process); {@code hook} must {@link #close} this federation.
   */
  public void onShutdown(Runnable hook) {
    site.leaveShutdownToCaller();
    Runtime.getRuntime().addShutdownHook(new Thread(hook, "spillway-shutdown"));
  }

  /** Keeps the log directory when closing (to read after a failed run). */
  public void keepLogs(boolean keep) {
    site.keepLogs(keep);
  }

  public String kafka() {
    return kafka;
  }

  /** The run's CA certificate that clients trust; empty when the federation runs in plaintext. */
  public java.util.Optional<Path> trustedCa() {
    return pki == null ? java.util.Optional.empty() : java.util.Optional.of(pki.ca());
  }

  /**
   * A client of {@code target} (a gateway's gRPC address) that speaks TLS when the federation does and
   * sends no credential: with {@link Options#credentials()} on, set a token ({@link #tokens()}), or use
   * {@link #client(String, io.spillway.client.SpillwayClient.Options, String)}.
   */
  public io.spillway.client.SpillwayClient client(String target, io.spillway.client.SpillwayClient.Options o) {
    return (pki == null ? io.spillway.client.SpillwayClient.builder(target) : pki.client(target)).options(o).build();
  }

  /** {@link #client(String, io.spillway.client.SpillwayClient.Options)} with {@code tenant}'s token of this run. */
  public io.spillway.client.SpillwayClient client(String target, io.spillway.client.SpillwayClient.Options o,
      String tenant) {
    io.spillway.client.SpillwayClient c = client(target, o);
    return tokens == null ? c : c.token(tokens.tenant(tenant));
  }

  /** The run's signing key and tokens; empty when the federation runs without credentials. */
  public java.util.Optional<DemoTokens> tokens() {
    return java.util.Optional.ofNullable(tokens);
  }

  public Topology topology() {
    return topology;
  }

  public Path logs() {
    return site.logs();
  }

  /** The start-up table: each component, where to reach it, and its log. */
  public void printAddresses() {
    out.println();
    out.println("| component | kind | gRPC | HTTP | log |");
    out.println("| --- | --- | --- | --- | --- |");
    for (Component c : components().values()) {
      out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", c.name(), c.kind(), c.grpc(),
          c.http().isEmpty() ? "-" : c.http(), display(c.process().log()));
    }
    out.println();
    components().values().stream().filter(c -> c.kind().equals(CENTER_GATEWAY)).findFirst()
        .ifPresent(c -> out.println("Console: " + c.http() + "/console/ (every gateway serves one at /console/)"));
  }

  /**
   * Stops every component in dependency order: the reverse of start order, which starts each component
   * after those it uses (Kafka, center gateways, their nodes, then each edge gateway and its nodes).
   *
   * @param report told each component's name once it has stopped; may be null
   */
  public void stop(java.util.function.Consumer<String> report) {
    List<Component> order = new ArrayList<>(components().values());
    java.util.Collections.reverse(order);
    for (Component c : order) {
      boolean wasAlive = c.process().isAlive();
      c.process().close();
      if (report != null && wasAlive) {
        report.accept(c.name());
      }
    }
  }

  @Override
  public void close() {
    stop(null);
    site.close();
    if (kafkaSecurity != null) {
      kafkaSecurity.close();
    }
    if (options.kafkaDataDir() != null && Files.isDirectory(options.kafkaDataDir())) {
      try (Stream<Path> paths = Files.walk(options.kafkaDataDir())) {
        paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        out.println("could not remove " + options.kafkaDataDir() + ": " + e.getMessage());
      }
    }
  }
}
