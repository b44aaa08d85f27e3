package io.spillway.contract;

import io.spillway.federation.Federation;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.testkit.Await;
import java.time.Clock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The contract spoken through an edge gateway to the one GPU node of its pool. */
class EdgeContractTest extends SessionProtocolContract {

  private static GatewayCore edge;
  private static Federation.Node node;

  @BeforeAll
  static void startEdge() throws Exception {
    edge = new GatewayCore(GatewayConfig.local("edge-contract", "edge/contract"), Clock.systemUTC(),
        GatewayListener.NONE).start();
    node = Federation.startNode(edge, "contract-node", "edge/contract", 1, 16 * GIB);
  }

  @AfterAll
  static void stopEdge() {
    if (node != null) {
      node.close();
    }
    if (edge != null) {
      edge.close();
    }
  }

  @Override
  String address() {
    return edge.address();
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
    return "gateway edge-contract";
  }

  @Override
  void assertNothingHeldFor(String tenant) {
    Await.until("the edge holds no session of " + tenant,
        () -> edge.sessions().stream().noneMatch(s -> s.tenant().equals(tenant)));
  }
}
