package io.spillway.launcher;

import io.spillway.agent.AgentConfig;
import io.spillway.agent.AgentServer;
import io.spillway.agent.SliceSpec;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code spillway run [slice options] -- ./program args}: runs an unmodified CUDA program on the pool, with
 * the Spillway {@code libcuda.so.1} first in its library path. Uses the agent already serving this machine
 * when there is one; otherwise serves the program from an agent of its own for as long as it runs.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Run an unmodified CUDA program on a slice of the pool.")
public final class RunCommand implements Callable<Integer> {

  @Option(names = "--gpus", paramLabel = "<count>", defaultValue = "1", description = "GPUs (default: ${DEFAULT-VALUE}).")
  int gpus;

  @Option(names = "--memory", paramLabel = "<size>", description = "Memory per GPU, e.g. 8GiB (default: `1GiB`).")
  String memory;

  @Option(names = "--percent", paramLabel = "<percent>", description = "Memory per GPU in percent of the card, instead of --memory.")
  Integer percent;

  @Option(names = "--compute", paramLabel = "<percent>", defaultValue = "0", description = "Compute share in percent (default: ${DEFAULT-VALUE}).")
  int compute;

  @Option(names = "--model", paramLabel = "<model>", description = "Card models to accept, e.g. V100.")
  String[] models;

  @Option(names = "--gateway", paramLabel = "<host:port>", description = "Edge gateway host:port for an agent started here (default: `127.0.0.1:7070`).")
  String gateway;

  @Option(names = "--tenant", paramLabel = "<name>", defaultValue = "default", description = "Tenant for an agent started here (default: ${DEFAULT-VALUE}).")
  String tenant;

  @Option(names = "--socket", paramLabel = "<path>", description = "The agent's Unix socket (default: `/tmp/spillway-agent-<uid>.sock`).")
  Path socket;

  @Option(names = "--shim", paramLabel = "<path>", description = "Folder holding the Spillway libcuda.so.1 (default: `cuda-shim/target/lib` of the installation).")
  Path shim;

  @Parameters(paramLabel = "PROGRAM", arity = "1..*", description = "The program and its arguments (after --).")
  List<String> program;

  @picocli.CommandLine.Mixin
  TlsClientOptions tls = new TlsClientOptions();

  @Override
  public Integer call() throws Exception {
    Path lib = shim != null ? shim : Path.of(System.getProperty("spillway.home", "."), "cuda-shim", "target", "lib");
    if (!Files.exists(lib.resolve("libcuda.so.1"))) {
      System.err.println("no libcuda.so.1 in " + lib + ": build the cuda-shim module or give --shim DIR");
      return 2;
    }
    SliceSpec slice;
    try {
      SliceSpec d = AgentCommand.defaults(memory, percent, compute, models);
      slice = new SliceSpec(gpus, d.memoryBytes(), d.memoryPercent(), compute, d.models());
      slice.request(tenant, "check");
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    Path sock = socket == null ? AgentConfig.defaultSocket() : socket;
    AgentServer own = null;
    if (answers(sock)) {
      if (gateway != null) {
        System.err.println("spillway run: using the agent on " + sock + "; its gateway applies, not --gateway " + gateway);
      }
    } else {
      String target = gateway == null ? "127.0.0.1:7070" : gateway;
      own = AgentServer.start(new AgentConfig(sock, target, tenant, slice, 0, Math.max(gpus, 1)),
          tls.client(target));
    }
    try {
      List<String> cmd = new ArrayList<>(program);
      ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
      String old = System.getenv("LD_LIBRARY_PATH");
      pb.environment().put("LD_LIBRARY_PATH", lib.toAbsolutePath() + (old == null || old.isEmpty() ? "" : ":" + old));
      pb.environment().put("SPILLWAY_AGENT_SOCKET", sock.toString());
      pb.environment().put("SPILLWAY_SLICE", slice.text());
      Process p = pb.start();
      return p.waitFor();
    } finally {
      if (own != null) {
        own.close();
      }
    }
  }

  static boolean answers(Path socket) {
    if (!Files.exists(socket)) {
      return false;
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      return ch.connect(UnixDomainSocketAddress.of(socket));
    } catch (IOException e) {
      return false;
    }
  }
}
