package io.spillway.topology;

import io.spillway.topology.internal.Locations;

/**
 * A valid topology and where each of its keys was written, so that a program checking the file's values
 * against the world (a port already taken, a host that is not this machine) can point at the line, as
 * the loader does for the file's own problems. Obtain one from {@link TopologyLoader#loadLocated}.
 */
public final class LocatedTopology {
  private final Topology topology;
  private final Locations locations;

  LocatedTopology(Topology topology, Locations locations) {
    this.topology = topology;
    this.locations = locations;
  }

  public Topology topology() {
    return topology;
  }

  /**
   * {@code file:line} of the value of {@code path} (model form, {@code edges[1].gateway.grpcPort}); a key
   * the file leaves to its default points at its nearest written ancestor.
   */
  public String where(String path) {
    return locations.file() + ":" + locations.valueOf(path).line();
  }
}
