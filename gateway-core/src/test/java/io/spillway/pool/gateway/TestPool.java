package io.spillway.pool.gateway;

import io.spillway.client.SpillwayClient;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.session.GatewayListener;
import io.spillway.testkit.Await;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/** A gateway and GPU nodes on loopback, each node a real gRPC server registering over gRPC. */
final class TestPool implements AutoCloseable {

  final GatewayCore gateway;
  final List<GpuNodeServer> nodes = new ArrayList<>();
  final List<GatewayRegistrar> registrars = new ArrayList<>();
  private final List<SpillwayClient> clients = new ArrayList<>();

  TestPool(GatewayConfig config) throws Exception {
    this(new GatewayCore(config, Clock.systemUTC(), GatewayListener.NONE));
  }

  /** Around a gateway the test built (its interceptors, its listener); starts it. */
  TestPool(GatewayCore unstarted) throws Exception {
    gateway = unstarted.start();
  }

  TestPool() throws Exception {
    this(GatewayConfig.local("edge-t", "edge/t"));
  }

  /** Starts a node with {@code cards} emulated cards and waits until the gateway lists it. */
  GpuNodeServer addNode(String id, int cards, String model, long memoryBytes) throws Exception {
    GpuNode node = new GpuNode(new NodeOptions(id, gateway.config().pool(), 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(cards, model, memoryBytes));
    GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    nodes.add(server);
    registrars.add(new GatewayRegistrar(node, gateway.address(), "127.0.0.1:" + server.port(), 200).start());
    Await.until("node " + id + " registered", () -> gateway.registry().node(id).map(n -> n.isUp()).orElse(false));
    return server;
  }

  /** Kills a node the hard way: its server and its registrar stop, nothing is said to the gateway. */
  void kill(GpuNodeServer server) {
    int i = nodes.indexOf(server);
    registrars.get(i).close();
    server.close();
  }

  SpillwayClient client() {
    SpillwayClient c = SpillwayClient.connect(gateway.address());
    clients.add(c);
    return c;
  }

  @Override
  public void close() {
    clients.forEach(SpillwayClient::close);
    registrars.forEach(GatewayRegistrar::close);
    nodes.forEach(GpuNodeServer::close);
    gateway.close();
  }
}
