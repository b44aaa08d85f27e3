package io.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The gateway core's packages form no cycle: {@code gateway} builds on {@code session}, which builds on
 * {@code failover}, {@code forward} and {@code config}, and nothing below reaches back up. Read from the
 * sources: a package depends on another when one of its files names it (an import or a fully qualified
 * name, comments included, so a doc link counts too).
 */
class PackageCycleTest {

  private static final Pattern NAMED = Pattern.compile("\\bio\\.spillway\\.pool\\.([a-z][a-z0-9_]*)\\.");

  @Test
  void gatewayCorePackagesFormNoCycle() {
    Map<String, Set<String>> deps = dependencies(sources());
    assertTrue(deps.keySet().containsAll(Set.of("gateway", "session", "failover", "forward", "config")),
        "the packages this test expects: " + deps.keySet());
    List<String> cycle = cycle(deps);
    assertEquals(List.of(), cycle, "a cycle between gateway-core packages (dependencies: " + deps + ")");
  }

  @Test
  void configurationDependsOnNoOtherGatewayCorePackage() {
    Map<String, Set<String>> deps = dependencies(sources());
    assertEquals(Set.of(), deps.get("config"), "io.spillway.pool.config must stay a leaf");
  }

  @Test
  void theCheckFindsACycle() {
    Map<String, Set<String>> deps = new TreeMap<>();
    deps.put("a", Set.of("b"));
    deps.put("b", Set.of("c"));
    deps.put("c", Set.of("a"));
    deps.put("d", Set.of("a"));
    assertEquals(List.of("a", "b", "c", "a"), cycle(deps));
    deps.put("c", Set.of());
    assertEquals(List.of(), cycle(deps));
  }

  @Test
  void dependenciesAreReadFromImportsAndQualifiedNames() {
    Map<String, Set<String>> deps = dependencies(Map.of(
        "session", List.of("package io.spillway.pool.session;\nimport io.spillway.pool.config.GatewayConfig;\n"
            + "class A { io.spillway.pool.failover.Recording r; io.spillway.pool.session.B b; }"),
        "config", List.of("package io.spillway.pool.config;\nimport io.spillway.pool.model.SessionId;"),
        "failover", List.of("package io.spillway.pool.failover;")));
    assertEquals(Set.of("config", "failover"), deps.get("session"));
    assertEquals(Set.of(), deps.get("config"), "packages of other modules are not gateway-core's");
  }

  /** The text of every main source file of gateway-core, by package under {@code io.spillway.pool}. */
  private static Map<String, List<String>> sources() {
    Path root = Path.of(System.getProperty("basedir", ".")).resolve("src/main/java/io/spillway/pool");
    assertTrue(Files.isDirectory(root), "gateway-core's sources at " + root.toAbsolutePath());
    Map<String, List<String>> byPackage = new TreeMap<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
        byPackage.computeIfAbsent(pkg, k -> new ArrayList<>()).add(Files.readString(f));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return byPackage;
  }

  /** For each package, the other packages (of those given) that its files name. */
  private static Map<String, Set<String>> dependencies(Map<String, List<String>> sources) {
    Map<String, Set<String>> deps = new TreeMap<>();
    for (var e : sources.entrySet()) {
      Set<String> named = new TreeSet<>();
      for (String text : e.getValue()) {
        Matcher m = NAMED.matcher(text);
        while (m.find()) {
          String other = m.group(1);
          if (!other.equals(e.getKey()) && sources.containsKey(other)) {
            named.add(other);
          }
        }
      }
      deps.put(e.getKey(), named);
    }
    return deps;
  }

  /** The first cycle found, as a path that ends where it starts; empty if there is none. */
  static List<String> cycle(Map<String, Set<String>> deps) {
    Map<String, Integer> state = new TreeMap<>(); // absent: unvisited; 1: on the path; 2: done
    List<String> path = new ArrayList<>();
    for (String start : deps.keySet()) {
      List<String> found = visit(start, deps, state, path);
      if (!found.isEmpty()) {
        return found;
      }
    }
    return List.of();
  }

  private static List<String> visit(String pkg, Map<String, Set<String>> deps, Map<String, Integer> state,
      List<String> path) {
    Integer s = state.get(pkg);
    if (s != null && s == 2) {
      return List.of();
    }
    if (s != null) {
      List<String> cycle = new ArrayList<>(path.subList(path.indexOf(pkg), path.size()));
      cycle.add(pkg);
      return cycle;
    }
    state.put(pkg, 1);
    path.add(pkg);
    for (String next : deps.getOrDefault(pkg, Set.of())) {
      List<String> found = visit(next, deps, state, path);
      if (!found.isEmpty()) {
        return found;
      }
    }
    path.remove(path.size() - 1);
    state.put(pkg, 2);
    return List.of();
  }
}
