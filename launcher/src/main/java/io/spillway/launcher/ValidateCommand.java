package io.spillway.launcher;

import io.spillway.topology.Edge;
import io.spillway.topology.GpuServer;
import io.spillway.topology.Topology;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code spillway validate FILE}: checks a topology and says what it describes, or every problem in it. */
@Command(name = "validate", mixinStandardHelpOptions = true,
    description = "Check a topology YAML file; print what it describes, or each problem with its location.")
public final class ValidateCommand implements Callable<Integer> {

  @Parameters(paramLabel = "FILE", description = "The topology file.")
  Path file;

  @Override
  public Integer call() throws Exception {
    var loaded = Topologies.load(file);
    if (loaded.isEmpty()) {
      return Topologies.BAD_TOPOLOGY;
    }
    Topology t = loaded.get();
    System.out.println(file + ": valid topology '" + t.name() + "'");
    System.out.println("  center: " + t.center().gateways().size() + " gateway(s), " + gpus(t.center().gpuServers())
        + " GPUs on " + t.center().gpuServers().size() + " server(s)");
    for (Edge e : t.edges()) {
      System.out.println("  edge " + e.name() + ": " + gpus(e.gpuServers()) + " GPUs on " + e.gpuServers().size()
          + " server(s), " + e.appServers().size() + " app server(s), spill " + e.spill().mode().label()
          + ", failback " + e.failback().label());
    }
    System.out.println("  tenants: " + t.tenants().size());
    return 0;
  }

  private static int gpus(java.util.List<GpuServer> servers) {
    return servers.stream().mapToInt(GpuServer::gpuCount).sum();
  }
}
