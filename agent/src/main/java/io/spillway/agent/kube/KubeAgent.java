package io.spillway.agent.kube;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.agent.AgentConfig;
import io.spillway.client.SpillwayClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.function.Supplier;
import java.util.concurrent.TimeUnit;

/**
 * {@code spillway agent --device-plugin}: the device plugin, its per-allocation agents, the PodResources
 * lookup and the vouching SDK channel to the edge, wired together.
 */
public final class KubeAgent implements AutoCloseable {

  /** As {@link SpillwayClient#connect(String)} sizes its channel: bulk copies travel as large frames. */
  private static final int FLOW_CONTROL_WINDOW_BYTES = 16 << 20;
  private static final int MAX_INBOUND_MESSAGE_BYTES = 64 << 20;

  private final UnixGrpc grpc;
  private final ManagedChannel edge;
  private final SpillwayClient client;
  private final PodLookup pods;
  private final Allocations allocations;
  private final DevicePlugin plugin;

  private KubeAgent(UnixGrpc grpc, ManagedChannel edge, SpillwayClient client, PodLookup pods, Allocations allocations,
      DevicePlugin plugin) {
    this.grpc = grpc;
    this.edge = edge;
    this.client = client;
    this.pods = pods;
    this.allocations = allocations;
    this.plugin = plugin;
  }

  /**
   * @param base       the agent's settings (gateway, defaults, limits); its socket is not used here
   * @param capacity   the edge's pool capacity
   * @param tokens     the agent's own token for the edge, asked at every open; null for none
   * @param shimSource a folder holding the shim's {@code libcuda.so.1} to copy into {@code config.shimDir()},
   *                   or null when the shim is already there
   */
  public static KubeAgent start(DevicePluginConfig config, AgentConfig base, PoolCapacity capacity,
      Supplier<String> tokens, Path shimSource) throws IOException {
    if (shimSource != null) {
      installShim(shimSource, config.shimDir());
    }
    if (!Files.exists(config.shimDir().resolve("libcuda.so.1"))) {
      throw new IOException("no shim at " + config.shimDir().resolve("libcuda.so.1")
          + ": give --shim-source or install it there");
    }
    UnixGrpc grpc = new UnixGrpc();
    ManagedChannel edge = NettyChannelBuilder.forTarget(base.gateway()).usePlaintext().directExecutor()
        .flowControlWindow(FLOW_CONTROL_WINDOW_BYTES).maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .intercept(new Vouching(tokens)).build();
    SpillwayClient client = SpillwayClient.forChannel(edge);
    PodLookup pods = new PodLookup(grpc, config.podResourcesSocket(), config.resourceName());
    Allocations allocations = new Allocations(config, base, TenantSessions.vouching(client), pods, Clock.systemUTC());
    try {
      DevicePlugin plugin = DevicePlugin.start(config, capacity, allocations);
      return new KubeAgent(grpc, edge, client, pods, allocations, plugin);
    } catch (IOException | RuntimeException e) {
      allocations.close();
      pods.close();
      edge.shutdownNow();
      grpc.close();
      throw e;
    }
  }

  /** Copies {@code libcuda.so.1} (and the {@code libcuda.so} name) so the kubelet can mount it from the host. */
  static void installShim(Path from, Path to) throws IOException {
    Path lib = from.resolve("libcuda.so.1");
    if (!Files.exists(lib)) {
      throw new IOException("shim-source " + from + " has no libcuda.so.1");
    }
    Files.createDirectories(to);
    Path tmp = to.resolve(".libcuda.so.1.tmp");
    Files.copy(lib, tmp, StandardCopyOption.REPLACE_EXISTING);
    Files.move(tmp, to.resolve("libcuda.so.1"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Path link = to.resolve("libcuda.so");
    if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      Files.createSymbolicLink(link, Path.of("libcuda.so.1"));
    }
  }

  public DevicePlugin plugin() {
    return plugin;
  }

  public Allocations allocations() {
    return allocations;
  }

  @Override
  public void close() {
    plugin.close();
    allocations.close();
    pods.close();
    client.close();
    edge.shutdown();
    try {
      if (!edge.awaitTermination(5, TimeUnit.SECONDS)) {
        edge.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      edge.shutdownNow();
    }
    grpc.close();
  }
}
