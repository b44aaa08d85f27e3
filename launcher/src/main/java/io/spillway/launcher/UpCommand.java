package io.spillway.launcher;

import io.spillway.topology.Topology;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code spillway up FILE}: the topology on this machine until Ctrl-C. */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = "Start every component of a topology on this machine, each its own process, until Ctrl-C.")
public final class UpCommand implements Callable<Integer> {

  @Parameters(paramLabel = "FILE", description = "The topology file.")
  Path file;

  @Option(names = "--driver", defaultValue = "auto", description = "GPU driver of the nodes: auto, jcuda or host (default: ${DEFAULT-VALUE}).")
  String driver;

  @Override
  public Integer call() throws Exception {
    var loaded = Topologies.load(file);
    if (loaded.isEmpty()) {
      return Topologies.BAD_TOPOLOGY;
    }
    Topology t = loaded.get();
    System.out.println("Starting topology '" + t.name() + "' from " + file);
    CountDownLatch stop = new CountDownLatch(1);
    try (Federation f = Federation.start(t, System.out, driver)) {
      f.printAddresses();
      System.out.println("Logs in " + f.logs() + ". Ctrl-C stops everything.");
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        System.out.println("stopping ...");
        f.close();
        stop.countDown();
      }, "spillway-up-shutdown"));
      stop.await();
    }
    return 0;
  }
}
