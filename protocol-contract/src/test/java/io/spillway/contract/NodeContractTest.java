package io.spillway.contract;

import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.testkit.Await;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The contract spoken to a GPU node directly (host driver, one emulated 16 GiB card). */
class NodeContractTest extends SessionProtocolContract {

  private static GpuNode node;
  private static GpuNodeServer server;

  @BeforeAll
  static void startNode() throws Exception {
    node = new GpuNode(new NodeOptions("contract-node", "edge/contract", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 16 * GIB));
    server = new GpuNodeServer(node, "127.0.0.1", 0).start();
  }

  @AfterAll
  static void stopNode() {
    if (server != null) {
      server.close();
    }
  }

  @Override
  String address() {
    return "127.0.0.1:" + server.port();
  }

  @Override
  SliceRequest slice() {
    return SliceRequest.newBuilder().setMemoryBytes(GIB).setComputePercent(10).build();
  }

  @Override
  String pool() {
    return "edge/contract";
  }

  @Override
  String firstHop() {
    return "this node";
  }

  @Override
  void assertNothingHeldFor(String tenant) {
    Await.until("the node holds no session of " + tenant,
        () -> node.sessions().stream().noneMatch(s -> s.tenant().equals(tenant)));
  }
}
