package io.spillway.simulator;

import io.spillway.topology.Topology;
import io.spillway.topology.TopologyLoader;
import java.nio.file.Path;

/** The province example, read from the topology module as an operator would. */
final class Province {
  static final long GIB = 1L << 30;

  private Province() {}

  static Topology load() throws Exception {
    return TopologyLoader.load(Path.of("..", "topology", "examples", "province.yaml"));
  }
}
