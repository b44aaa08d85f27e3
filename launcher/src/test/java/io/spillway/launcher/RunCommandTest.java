package io.spillway.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.server.GpuNodeServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code spillway run} on an unmodified nvcc-built program, against a GPU node (host driver) over gRPC. */
class RunCommandTest {

  static boolean nvcc() {
    try {
      Process p = new ProcessBuilder("nvcc", "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void runsAnUnmodifiedProgramOnASliceAndReturnsItsExitCode() throws Exception {
    Path root = Path.of("..").toAbsolutePath().normalize();
    Path shim = root.resolve("cuda-shim/target/lib");
    assumeTrue(nvcc(), "nvcc is not on the PATH: spillway run cannot be tried on a CUDA program here");
    assumeTrue(Files.exists(shim.resolve("libcuda.so.1")), "the shim is not built at " + shim);
    Path dir = Files.createTempDirectory("spillway-run");
    Path exe = dir.resolve("vector_add");
    Process cc = new ProcessBuilder("nvcc", "-o", exe.toString(),
        root.resolve("cuda-shim/src/test/cuda/vector_add.cu").toString()).inheritIO().start();
    assertEquals(0, cc.waitFor());
    GpuNode node = new GpuNode(NodeOptions.defaults("run-test"), HostGpuDriver.withCards(1, "V100", 1L << 30));
    try (GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start()) {
      String gateway = "127.0.0.1:" + server.port();
      Path socket = dir.resolve("agent.sock");
      int ok = new CommandLine(new SpillwayCommand()).execute("run", "--memory", "64MiB", "--gateway", gateway,
          "--socket", socket.toString(), "--shim", shim.toString(), "--", exe.toString(), "20000");
      assertEquals(0, ok, "vector_add exits 0 only when every element is right");
      // A program that fails says so through its exit code: over the slice, cudaMalloc fails and it exits 1.
      int over = new CommandLine(new SpillwayCommand()).execute("run", "--memory", "1MiB", "--gateway", gateway,
          "--socket", socket.toString(), "--shim", shim.toString(), "--", exe.toString(), "1000000");
      assertEquals(1, over);
      // Bad slice options are refused before anything runs.
      assertEquals(2, new CommandLine(new SpillwayCommand()).execute("run", "--memory", "lots", "--", exe.toString()));
    }
  }
}
