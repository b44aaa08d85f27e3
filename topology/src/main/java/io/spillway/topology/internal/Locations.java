package io.spillway.topology.internal;

import io.spillway.topology.Problem;

import java.util.HashMap;
import java.util.Map;

/**
 * Where each path of a topology file was written: the position of its key and of its value, 1-based. Paths are
 * in model form ({@code edges[1].gpuServers[0].name}). A path that is not in the file (a default, a missing key)
 * resolves to its nearest written ancestor, so every problem has a place to point at.
 */
public final class Locations {
  /** A 1-based line and column. */
  public record Location(int line, int column) {
  }

  private static final Location START = new Location(1, 1);

  private final String file;
  private final Map<String, Location> keys = new HashMap<>();
  private final Map<String, Location> values = new HashMap<>();

  public Locations(String file) {
    this.file = file;
  }

  public String file() {
    return file;
  }

  void key(String path, Location location) {
    keys.put(path, location);
  }

  void value(String path, Location location) {
    values.put(path, location);
  }

  /** Where the value of {@code path} starts, else where its key is, else its nearest written ancestor. */
  public Location valueOf(String path) {
    for (String p = path; ; p = parent(p)) {
      Location l = values.getOrDefault(p, keys.get(p));
      if (l != null) {
        return l;
      }
      if (p.isEmpty()) {
        return START;
      }
    }
  }

  /** Where the key of {@code path} is, else where its value is, else its nearest written ancestor. */
  public Location keyOf(String path) {
    Location l = keys.get(path);
    return l != null ? l : valueOf(path);
  }

  public Problem atValue(String path, String message) {
    Location l = valueOf(path);
    return new Problem(file, l.line(), l.column(), path, message);
  }

  public Problem atKey(String path, String message) {
    Location l = keyOf(path);
    return new Problem(file, l.line(), l.column(), path, message);
  }

  /** {@code a.b[2].c} → {@code a.b[2]} → {@code a.b} → {@code a} → {@code ""}. */
  public static String parent(String path) {
    if (path.endsWith("]")) {
      return path.substring(0, path.lastIndexOf('['));
    }
    int dot = path.lastIndexOf('.');
    return dot < 0 ? "" : path.substring(0, dot);
  }

  public static String child(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  public static String item(String path, int index) {
    return path + "[" + index + "]";
  }
}
