package io.spillway.launcher;

import io.spillway.topology.Edge;
import io.spillway.topology.Gateway;
import io.spillway.topology.GpuServer;
import io.spillway.topology.LocatedTopology;
import io.spillway.topology.Topology;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What {@code spillway up} and {@code spillway demo} check before they start any process: that every
 * port the topology names can be listened on, and that every folder they will write can be written.
 * Each problem is one line naming the component, the topology key and where the file sets it, the port,
 * and who holds it when that can be found ({@link PortHolders}).
 *
 * <p>A port free now may be taken before its component binds it; this check catches the common case
 * (a previous run still going, another program on the port) before anything is half started.
 */
final class Preflight {

  /** Exit code of a command that found problems in the machine, not the file, and started nothing. */
  static final int REFUSED = 3;

  /**
   * One port a component will listen on.
   *
   * @param anyAddress the component binds every interface (the gateways' HTTP endpoint), not {@code host}
   */
  record Claim(String component, String key, String host, int port, boolean anyAddress) {}

  private Preflight() {}

  /** Every port the components of {@code t} listen on, in start order. */
  static List<Claim> claims(Topology t) {
    List<Claim> claims = new ArrayList<>();
    if (t.kafka().embedded()) {
      claims.add(new Claim("kafka", "kafka.port", "127.0.0.1", t.kafka().port(), false));
    }
    for (int i = 0; i < t.center().gateways().size(); i++) {
      Gateway g = t.center().gateways().get(i);
      String key = "center.gateways[" + i + "].";
      claims.add(new Claim(g.name(), key + "grpcPort", g.host(), g.grpcPort(), false));
      claims.add(new Claim(g.name(), key + "httpPort", g.host(), g.httpPort(), true));
    }
    servers(claims, "center.gpuServers", t.center().gpuServers());
    for (int i = 0; i < t.edges().size(); i++) {
      Edge e = t.edges().get(i);
      String key = "edges[" + i + "].";
      claims.add(new Claim(e.name(), key + "gateway.grpcPort", e.gateway().host(), e.gateway().grpcPort(), false));
      claims.add(new Claim(e.name(), key + "gateway.httpPort", e.gateway().host(), e.gateway().httpPort(), true));
      servers(claims, key + "gpuServers", e.gpuServers());
    }
    return claims;
  }

  private static void servers(List<Claim> claims, String key, List<GpuServer> servers) {
    for (int j = 0; j < servers.size(); j++) {
      GpuServer s = servers.get(j);
      claims.add(new Claim(s.name(), key + "[" + j + "].nodePort", s.host(), s.nodePort(), false));
    }
  }

  /** One line per port of the topology that cannot be listened on; empty when every one can. */
  static List<String> ports(LocatedTopology located) {
    List<String> problems = new ArrayList<>();
    for (Claim c : claims(located.topology())) {
      probe(c).ifPresent(why -> problems.add(c.component() + ": port " + c.port() + " ("
          + c.key() + ", " + located.where(c.key()) + ") " + why));
    }
    return problems;
  }

  /** Why {@code c} cannot be listened on, if it cannot. */
  static Optional<String> probe(Claim c) {
    InetAddress address;
    try {
      address = InetAddress.getByName(c.host());
    } catch (UnknownHostException e) {
      return Optional.of("cannot be listened on: host " + c.host() + " does not resolve");
    }
    Optional<String> own = bindProblem(new InetSocketAddress(address, c.port()), c);
    // The gateways' HTTP endpoint listens on every interface: a program on another one takes it too.
    return own.isPresent() || !c.anyAddress() ? own : bindProblem(new InetSocketAddress(c.port()), c);
  }

  private static Optional<String> bindProblem(InetSocketAddress address, Claim c) {
    try (ServerSocket s = new ServerSocket()) {
      // As the components' servers do, so that a socket of a previous run in TIME_WAIT does not count.
      s.setReuseAddress(true);
      s.bind(address, 1);
      return Optional.empty();
    } catch (BindException e) {
      String m = String.valueOf(e.getMessage());
      if (m.contains("in use")) {
        return Optional.of("is taken by " + PortHolders.describe(c.port()).orElse("another program (not found)"));
      }
      if (m.contains("assign requested address")) {
        return Optional.of("cannot be listened on: " + c.host() + " is not an address of this machine");
      }
      if (m.contains("ermission")) {
        return Optional.of("cannot be listened on: permission denied (ports below 1024 need privileges)");
      }
      return Optional.of("cannot be listened on: " + m);
    } catch (IOException e) {
      return Optional.of("cannot be listened on: " + e.getMessage());
    }
  }

  /**
   * Why {@code dir} cannot be created or written, if it cannot.
   *
   * @param what how the user set it, e.g. {@code --logs}
   */
  static Optional<String> folder(Path dir, String what) {
    Path abs = dir.toAbsolutePath().normalize();
    Path existing = abs;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    String prefix = "folder " + abs + " (" + what + ") ";
    if (existing == null) {
      return Optional.of(prefix + "cannot be created: no part of it exists");
    }
    if (!Files.isDirectory(existing)) {
      return Optional.of(prefix + "cannot be created: " + existing + " is a file");
    }
    if (!Files.isWritable(existing)) {
      return Optional.of(prefix + (existing.equals(abs) ? "is not writable" : "cannot be created: "
          + existing + " is not writable"));
    }
    return Optional.empty();
  }

  /** Prints the problems and what was done about them on {@code err}. */
  static void report(String command, List<String> problems, PrintStream err) {
    problems.forEach(err::println);
    err.println("spillway " + command + ": " + problems.size() + (problems.size() == 1 ? " problem" : " problems")
        + " found before starting; nothing was started.");
  }
}
