package io.spillway.topology.internal;

import io.spillway.topology.Center;
import io.spillway.topology.Edge;
import io.spillway.topology.Gateway;
import io.spillway.topology.GpuGroup;
import io.spillway.topology.GpuServer;
import io.spillway.topology.Heartbeat;
import io.spillway.topology.Kafka;
import io.spillway.topology.Problem;
import io.spillway.topology.SpillMode;
import io.spillway.topology.Tenant;
import io.spillway.topology.Topology;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.spillway.topology.Durations.format;
import static io.spillway.topology.internal.Locations.child;
import static io.spillway.topology.internal.Locations.item;

/**
 * The rules that hold across keys, checked on the bound model: unique names, references that resolve, positive
 * capacities, ports in range and not shared, lease and heartbeat timing. Every rule reports at the written
 * location of the offending value, and every rule runs: the result is all problems, not the first.
 */
public final class SemanticChecks {
  /** Where the embedded broker listens, and what {@code localhost} is taken to mean when comparing endpoints. */
  private static final String LOOPBACK = "127.0.0.1";

  private final Locations locations;
  private final List<Problem> problems = new ArrayList<>();
  /** Server name → path of its first declaration; servers share one namespace across the file. */
  private final Map<String, String> servers = new HashMap<>();
  private final List<Endpoint> endpoints = new ArrayList<>();

  private record Endpoint(String host, int port, String path, Locations.Location location) {
  }

  public SemanticChecks(Locations locations) {
    this.locations = locations;
  }

  public List<Problem> check(Topology t) {
    if (t.name().isBlank()) {
      problems.add(locations.atValue("name", "the name is blank"));
    }
    checkKafka(t.kafka());
    checkCenter(t.center());
    checkEdges(t.edges());
    checkTenants(t);
    checkHeartbeat(t.heartbeat());
    checkPortClashes();
    return problems;
  }

  private void checkKafka(Kafka kafka) {
    if (kafka.embedded() && kafka.bootstrap() != null) {
      problems.add(locations.atValue("kafka.bootstrap",
          "`bootstrap` and `embedded: true` exclude each other; keep one"));
    } else if (!kafka.embedded() && kafka.bootstrap() == null) {
      problems.add(locations.atValue("kafka", "set `embedded: true` (a broker inside `spillway up`) "
          + "or `bootstrap: host:port` (an existing cluster)"));
    }
    if (kafka.embedded()) {
      port("kafka.port", kafka.port(), LOOPBACK);
    }
    if (kafka.bootstrap() != null) {
      for (String server : kafka.bootstrap().split(",")) {
        String s = server.trim();
        int colon = s.lastIndexOf(':');
        int port = -1;
        if (colon > 0) {
          try {
            port = Integer.parseInt(s.substring(colon + 1));
          } catch (NumberFormatException e) {
            port = -1;
          }
        }
        if (port < 1 || port > 65535) {
          problems.add(locations.atValue("kafka.bootstrap", "\"" + s
              + "\" is not host:port; write e.g. \"kafka-1.example:9092,kafka-2.example:9092\""));
        }
      }
    }
  }

  private void checkCenter(Center center) {
    if (center.gateways().isEmpty()) {
      problems.add(locations.atValue("center.gateways", "the center needs at least one gateway"));
    }
    Map<String, String> names = new HashMap<>();
    for (int i = 0; i < center.gateways().size(); i++) {
      Gateway g = center.gateways().get(i);
      String path = item("center.gateways", i);
      unique(names, g.name(), child(path, "name"), "center gateway name", path);
      port(child(path, "grpcPort"), g.grpcPort(), g.host());
      port(child(path, "httpPort"), g.httpPort(), g.host());
    }
    if (center.gpuServers().isEmpty()) {
      problems.add(locations.atValue("center.gpuServers",
          "the center needs at least one GPU server: it is the capacity that edges spill onto"));
    }
    gpuServers("center.gpuServers", center.gpuServers());
    Duration lease = center.leaseDuration();
    positive("center.leaseDuration", lease);
    if (positive("center.renewInterval", center.renewInterval()) && center.renewInterval().compareTo(lease) >= 0) {
      problems.add(locations.atValue("center.renewInterval", "renewInterval " + format(center.renewInterval())
          + " must be shorter than leaseDuration " + format(lease) + ", or leases expire before renewal"));
    }
    if (center.skewMargin().compareTo(lease) >= 0) {
      problems.add(locations.atValue("center.skewMargin", "skewMargin " + format(center.skewMargin())
          + " must be shorter than leaseDuration " + format(lease) + ", or no lease is ever usable"));
    }
  }

  private void checkEdges(List<Edge> edges) {
    if (edges.isEmpty()) {
      problems.add(locations.atValue("edges", "a federation needs at least one edge"));
    }
    Map<String, String> names = new HashMap<>();
    for (int i = 0; i < edges.size(); i++) {
      Edge edge = edges.get(i);
      String path = item("edges", i);
      unique(names, edge.name(), child(path, "name"), "edge name", path);
      port(child(path, "gateway.grpcPort"), edge.gateway().grpcPort(), edge.gateway().host());
      port(child(path, "gateway.httpPort"), edge.gateway().httpPort(), edge.gateway().host());
      gpuServers(child(path, "gpuServers"), edge.gpuServers());
      for (int j = 0; j < edge.appServers().size(); j++) {
        String serverPath = item(child(path, "appServers"), j);
        unique(servers, edge.appServers().get(j).name(), child(serverPath, "name"), "server name", serverPath);
      }
      int threshold = edge.spill().threshold();
      if (threshold < 1 || threshold > 100) {
        problems.add(locations.atValue(child(path, "spill.threshold"),
            "threshold " + threshold + " is not a percentage from 1 to 100"));
      }
      if (edge.spill().mode() == SpillMode.ABOVE_UTILIZATION && edge.gpuServers().isEmpty()) {
        problems.add(locations.atValue(child(path, "spill.mode"),
            "`above-utilization` needs local GPU servers to measure; this edge has none"));
      }
    }
  }

  private void gpuServers(String listPath, List<GpuServer> list) {
    for (int i = 0; i < list.size(); i++) {
      GpuServer server = list.get(i);
      String path = item(listPath, i);
      unique(servers, server.name(), child(path, "name"), "server name", path);
      port(child(path, "nodePort"), server.nodePort(), server.host());
      if (server.gpus().isEmpty()) {
        problems.add(locations.atValue(child(path, "gpus"), "a GPU server needs at least one group of cards"));
      }
      for (int j = 0; j < server.gpus().size(); j++) {
        GpuGroup group = server.gpus().get(j);
        String groupPath = item(child(path, "gpus"), j);
        if (group.memory().isZero()) {
          problems.add(locations.atValue(child(groupPath, "memory"), "memory must be more than 0"));
        } else if (group.reserve().compareTo(group.memory()) >= 0) {
          problems.add(locations.atValue(child(groupPath, "reserve"), "reserve " + group.reserve()
              + " leaves nothing of memory " + group.memory() + "; it must be less than memory"));
        }
        if (group.count() < 1) {
          problems.add(locations.atValue(child(groupPath, "count"),
              "count " + group.count() + " must be at least 1"));
        }
      }
    }
  }

  private void checkTenants(Topology t) {
    Map<String, String> names = new HashMap<>();
    List<String> edgeNames = t.edges().stream().map(Edge::name).toList();
    for (int i = 0; i < t.tenants().size(); i++) {
      Tenant tenant = t.tenants().get(i);
      String path = item("tenants", i);
      unique(names, tenant.name(), child(path, "name"), "tenant name", path);
      if (tenant.maxSessions() < 1) {
        problems.add(locations.atValue(child(path, "maxSessions"),
            "maxSessions " + tenant.maxSessions() + " must be at least 1"));
      }
      if (tenant.maxMemory().isZero()) {
        problems.add(locations.atValue(child(path, "maxMemory"), "maxMemory must be more than 0"));
      }
      for (int j = 0; j < tenant.edges().size(); j++) {
        String edge = tenant.edges().get(j);
        if (!edgeNames.contains(edge)) {
          problems.add(locations.atValue(item(child(path, "edges"), j), "no edge is named \"" + edge + "\""
              + Suggestions.didYouMean(edge, edgeNames, "\"") + "; edges: " + String.join(", ", edgeNames)));
        }
      }
    }
  }

  private void checkHeartbeat(Heartbeat heartbeat) {
    if (positive("heartbeat.interval", heartbeat.interval())
        && heartbeat.timeout().compareTo(heartbeat.interval()) <= 0) {
      problems.add(locations.atValue("heartbeat.timeout", "timeout " + format(heartbeat.timeout())
          + " must be longer than interval " + format(heartbeat.interval())
          + ", or every server is declared lost between two heartbeats"));
    }
  }

  private boolean positive(String path, Duration d) {
    if (d.isZero()) {
      problems.add(locations.atValue(path, "must be longer than 0s"));
      return false;
    }
    return true;
  }

  private void unique(Map<String, String> seen, String name, String namePath, String what, String ownerPath) {
    if (name.isBlank()) {
      problems.add(locations.atValue(namePath, "the name is blank"));
      return;
    }
    String first = seen.putIfAbsent(name, ownerPath);
    if (first != null) {
      problems.add(locations.atValue(namePath, "duplicate " + what + " \"" + name + "\"; already used by "
          + first + " (line " + locations.valueOf(child(first, "name")).line() + ")"));
    }
  }

  private void port(String path, int port, String host) {
    if (port < 1 || port > 65535) {
      problems.add(locations.atValue(path, "port " + port + " is out of range; use 1 to 65535"));
      return;
    }
    endpoints.add(new Endpoint(normalize(host), port, path, locations.valueOf(path)));
  }

  private static String normalize(String host) {
    String h = host.trim().toLowerCase(Locale.ROOT);
    return h.equals("localhost") ? LOOPBACK : h;
  }

  /** The later of two endpoints on one host:port is the one reported, in file order. */
  private void checkPortClashes() {
    endpoints.sort(Comparator.comparingInt((Endpoint e) -> e.location().line())
        .thenComparingInt(e -> e.location().column()));
    Map<String, Endpoint> taken = new HashMap<>();
    for (Endpoint e : endpoints) {
      Endpoint first = taken.putIfAbsent(e.host() + ":" + e.port(), e);
      if (first != null) {
        problems.add(locations.atValue(e.path(), "port " + e.port() + " on " + e.host()
            + " is already used by " + first.path() + " (line " + first.location().line() + ")"));
      }
    }
  }
}
