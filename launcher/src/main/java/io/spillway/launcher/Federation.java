package io.spillway.launcher;

import io.spillway.lease.KafkaMain;
import io.spillway.node.NodeMain;
import io.spillway.topology.Edge;
import io.spillway.topology.Gateway;
import io.spillway.topology.GpuGroup;
import io.spillway.topology.GpuServer;
import io.spillway.topology.Tenant;
import io.spillway.topology.Topology;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A whole topology on this machine, every component its own process: the Kafka broker (embedded, when
 * the file asks for one), the center gateways and their GPU nodes, the edge gateways and theirs. GPU
 * nodes use the JCuda driver where a CUDA driver answers, and otherwise emulate the cards the file
 * declares. Closing it stops every process, newest first, and removes the logs.
 */
final class Federation implements AutoCloseable {

  /** A started component and where to reach it. */
  record Component(String kind, String name, String grpc, String http, ChildProcess process) {}

  private final Topology topology;
  private final Site site;
  private final PrintStream out;
  private final String driver;
  private final Map<String, Component> components = new LinkedHashMap<>();
  private String kafka;

  private Federation(Topology topology, Site site, PrintStream out, String driver) {
    this.topology = topology;
    this.site = site;
    this.out = out;
    this.driver = driver;
  }

  /** Starts everything the topology describes and waits until every gateway is ready. */
  static Federation start(Topology t, PrintStream out, String driver) throws Exception {
    Federation f = new Federation(t, new Site(Path.of(System.getProperty("java.io.tmpdir"))), out, driver);
    try {
      f.startAll();
      return f;
    } catch (Exception | Error e) {
      f.close();
      throw e;
    }
  }

  private void startAll() throws Exception {
    long t0 = System.nanoTime();
    if (topology.kafka().embedded()) {
      step("kafka", "embedded KRaft broker");
      ChildProcess k = site.startJava("kafka", KafkaMain.class.getName(),
          List.of(String.valueOf(topology.kafka().port())));
      kafka = "127.0.0.1:" + topology.kafka().port();
      components.put("kafka", new Component("kafka", "kafka", kafka, "", k));
    } else {
      kafka = topology.kafka().bootstrap();
    }
    Duration lease = topology.center().leaseDuration();
    List<String> centerGrpc = new ArrayList<>();
    for (Gateway g : topology.center().gateways()) {
      step(g.name(), "center gateway");
      String grpc = g.host() + ":" + g.grpcPort();
      ChildProcess p = site.startProcess(g.name(), GatewayProcess.command("center-gateway", List.of(
          "-Dspillway.center.name=" + g.name(), "-Dspillway.center.member-id=" + g.name(),
          "-Dspillway.center.grpc.host=" + g.host(), "-Dspillway.center.grpc.port=" + g.grpcPort(),
          "-Dquarkus.http.port=" + g.httpPort(), "-Dspillway.center.kafka-bootstrap=" + kafka,
          "-Dspillway.center.lease-duration=" + millis(lease),
          "-Dspillway.center.skew-margin=" + millis(topology.center().skewMargin()),
          "-Dspillway.center.heartbeat.interval=" + millis(topology.heartbeat().interval()),
          "-Dspillway.center.heartbeat.timeout=" + millis(topology.heartbeat().timeout()),
          // Leases are granted on the cards registered when leasing starts: wait for every server.
          "-Dspillway.center.leasing.min-nodes=" + topology.center().gpuServers().size())));
      components.put(g.name(), new Component("center gateway", g.name(), grpc,
          "http://" + g.host() + ":" + g.httpPort(), p));
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
          "-Dquarkus.http.port=" + e.gateway().httpPort(),
          "-Dspillway.edge.heartbeat.interval=" + millis(topology.heartbeat().interval()),
          "-Dspillway.edge.heartbeat.timeout=" + millis(topology.heartbeat().timeout()),
          "-Dspillway.edge.spill.enabled=true", "-Dspillway.edge.spill.kafka-bootstrap=" + kafka,
          "-Dspillway.edge.spill.center=" + centerGrpc.get(0),
          "-Dspillway.edge.spill.mode=" + e.spill().mode().label(),
          "-Dspillway.edge.spill.threshold=" + e.spill().threshold(),
          "-Dspillway.edge.spill.lease-duration=" + millis(lease),
          "-Dspillway.edge.spill.skew-margin=" + millis(topology.center().skewMargin())));
      for (Tenant tenant : topology.tenants()) {
        if (tenant.mayUse(e.name())) {
          props.add("-Dspillway.edge.tenants.\"" + tenant.name() + "\".max-sessions=" + tenant.maxSessions());
          props.add("-Dspillway.edge.tenants.\"" + tenant.name() + "\".max-memory=" + tenant.maxMemory().bytes());
        }
      }
      ChildProcess p = site.startProcess(e.name(), GatewayProcess.command("edge-gateway", props));
      components.put(e.name(), new Component("edge gateway", e.name(), grpc,
          "http://" + e.gateway().host() + ":" + e.gateway().httpPort(), p));
      for (GpuServer s : e.gpuServers()) {
        startNode(s, "edge/" + e.name(), List.of(grpc));
      }
    }
    for (Component c : components.values()) {
      if (!c.http().isEmpty()) {
        site.awaitHttp(c.http() + "/q/health/ready", body -> true);
      }
    }
    out.printf(Locale.ROOT, "all %d components up and healthy in %.1f s%n", components.size(),
        (System.nanoTime() - t0) / 1e9);
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
    ChildProcess p = site.startJava(s.name(), NodeMain.class.getName(), args);
    components.put(s.name(), new Component("GPU node", s.name(), s.host() + ":" + s.nodePort(), "", p));
  }

  private static String millis(Duration d) {
    return d.toMillis() + "ms";
  }

  private void step(String name, String what) {
    out.printf(Locale.ROOT, "  starting %-14s %s%n", name, what);
  }

  Map<String, Component> components() {
    return components;
  }

  String kafka() {
    return kafka;
  }

  Topology topology() {
    return topology;
  }

  Path logs() {
    return site.logs();
  }

  void printAddresses() {
    out.println();
    out.println("| component | kind | gRPC | HTTP |");
    out.println("| --- | --- | --- | --- |");
    for (Component c : components.values()) {
      out.printf(Locale.ROOT, "| %s | %s | %s | %s |%n", c.name(), c.kind(), c.grpc(), c.http().isEmpty() ? "-" : c.http());
    }
    out.println();
  }

  @Override
  public void close() {
    site.close();
  }
}
