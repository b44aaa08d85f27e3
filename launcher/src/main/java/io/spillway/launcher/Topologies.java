package io.spillway.launcher;

import io.spillway.topology.LocatedTopology;
import io.spillway.topology.Topology;
import io.spillway.topology.TopologyException;
import io.spillway.topology.TopologyLoader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** How every {@code spillway} command that takes a topology file reads it. */
final class Topologies {
  private Topologies() {}

  /** Exit code of a command given a topology it cannot use. */
  static final int BAD_TOPOLOGY = 2;

  /**
   * Loads {@code file}; if it cannot be read or has problems, prints each problem with its location on
   * standard error and returns empty, so the command exits with {@link #BAD_TOPOLOGY} before it starts
   * anything.
   */
  static Optional<Topology> load(Path file) {
    return loadLocated(file).map(LocatedTopology::topology);
  }

  /** {@link #load}, keeping where each key was written (for {@link Preflight}). */
  static Optional<LocatedTopology> loadLocated(Path file) {
    try {
      return Optional.of(TopologyLoader.loadLocated(file));
    } catch (TopologyException e) {
      System.err.println(e.getMessage());
    } catch (IOException e) {
      System.err.println("cannot read " + file + ": " + e.getMessage());
    }
    return Optional.empty();
  }
}
