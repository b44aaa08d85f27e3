package io.spillway.launcher;

import io.spillway.agent.AgentConfig;
import io.spillway.agent.AgentServer;
import io.spillway.agent.SliceSpec;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code spillway agent}: serves the CUDA shims of this machine until Ctrl-C. */
@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Serve unmodified CUDA programs of this machine (run with the Spillway libcuda.so.1) on the pool:"
        + " one session per CUDA context to the edge gateway.")
public final class AgentCommand implements Callable<Integer> {

  @Option(names = "--socket", paramLabel = "<path>", description = "Unix socket the shims connect to (default: `/tmp/spillway-agent-<uid>.sock`).")
  Path socket;

  @Option(names = "--gateway", paramLabel = "<host:port>", defaultValue = "127.0.0.1:7070", description = "Edge gateway host:port (default: ${DEFAULT-VALUE}).")
  String gateway;

  @Option(names = "--tenant", paramLabel = "<name>", defaultValue = "default", description = "Tenant the sessions count against (default: ${DEFAULT-VALUE}).")
  String tenant;

  @Option(names = "--memory", paramLabel = "<size>", description = "Default memory per GPU for programs that ask for none, e.g. 8GiB (default: `1GiB`).")
  String memory;

  @Option(names = "--percent", paramLabel = "<percent>", description = "Default memory per GPU in percent of the card, instead of --memory.")
  Integer percent;

  @Option(names = "--compute", paramLabel = "<percent>", defaultValue = "0", description = "Default compute share in percent (default: ${DEFAULT-VALUE}).")
  int compute;

  @Option(names = "--model", paramLabel = "<model>", description = "Default card models to accept, e.g. V100.")
  String[] models;

  @Option(names = "--max-memory", paramLabel = "<size>", description = "The most memory per GPU one program may ask for, e.g. 16GiB (default: no limit).")
  String maxMemory;

  @Option(names = "--token-file", paramLabel = "<path>", description = "The agent's token (spillway token issue --role agent "
      + "--subject MACHINE --tenant T), reread at every open so it can be rotated; it vouches for --tenant. Default: "
      + "$SPILLWAY_AGENT_TOKEN_FILE, else no credential.")
  Path tokenFile;

  @Option(names = "--max-gpus", paramLabel = "<count>", defaultValue = "8", description = "The most GPUs one program may ask for (default: ${DEFAULT-VALUE}).")
  int maxGpus;

  @Mixin
  AgentKubeOptions kube = new AgentKubeOptions();

  static SliceSpec defaults(String memory, Integer percent, int compute, String[] models) {
    if (memory != null && percent != null) {
      throw new IllegalArgumentException("--memory=" + memory + " and --percent=" + percent + " are both set; set one");
    }
    long bytes = percent == null ? SliceSpec.bytes("--memory", memory == null ? "1GiB" : memory) : 0;
    return new SliceSpec(1, bytes, percent == null ? 0 : percent, compute,
        models == null ? java.util.List.of() : java.util.List.of(models));
  }

  @picocli.CommandLine.Mixin
  TlsClientOptions tls = new TlsClientOptions();

  @Override
  public Integer call() throws Exception {
    AgentConfig config = new AgentConfig(socket == null ? AgentConfig.defaultSocket() : socket, gateway, tenant,
        defaults(memory, percent, compute, models), maxMemory == null ? 0 : SliceSpec.bytes("--max-memory", maxMemory),
        maxGpus);
    CountDownLatch stop = new CountDownLatch(1);
    Path token = tokenFile != null ? tokenFile
        : System.getenv("SPILLWAY_AGENT_TOKEN_FILE") == null ? null : Path.of(System.getenv("SPILLWAY_AGENT_TOKEN_FILE"));
    java.util.function.Supplier<String> tokens = token == null ? null : () -> {
      try {
        return java.nio.file.Files.readString(token).strip();
      } catch (java.io.IOException e) {
        throw new IllegalStateException("--token-file " + token + " cannot be read: " + e.getMessage(), e);
      }
    };
    try (AgentServer agent = AgentServer.withToken(config, tokens, tls.client(gateway));
        io.spillway.agent.kube.KubeAgent plugin = kube.start(config, tokens)) {
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
      System.out.println("spillway agent on " + agent.socket() + " -> " + gateway + " (tenant " + tenant + ")");
      if (plugin != null) {
        System.out.println("device plugin: " + plugin.plugin().units().count() + " devices of "
            + plugin.plugin().units().unitBytes() + " bytes, " + plugin.plugin().state());
      }
      System.out.println("READY");
      System.out.flush();
      stop.await();
    }
    return 0;
  }
}
