package io.spillway.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spillway.federation.Federation;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.testkit.Await;
import java.time.Clock;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The contract spoken to a session whose two GPUs are on two servers: an edge whose nodes have one card
 * each places a two-GPU session across both, and bridges its ops to each.
 */
class SpanningContractTest extends SessionProtocolContract {

  private static GatewayCore edge;
  private static Federation.Node a;
  private static Federation.Node b;

  @BeforeAll
  static void startEdge() throws Exception {
    edge = new GatewayCore(GatewayConfig.local("edge-span", "edge/span"), Clock.systemUTC(),
        GatewayListener.NONE).start();
    a = Federation.startNode(edge, "span-a", "edge/span", 1, 16 * GIB);
    b = Federation.startNode(edge, "span-b", "edge/span", 1, 16 * GIB);
  }

  @AfterAll
  static void stopEdge() {
    for (Federation.Node n : new Federation.Node[] {a, b}) {
      if (n != null) {
        n.close();
      }
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
    return SliceRequest.newBuilder().setGpuCount(2).setMemoryBytes(GIB).setComputePercent(10).build();
  }

  @Override
  String pool() {
    return "edge/span";
  }

  @Override
  String firstHop() {
    return "gateway edge-span";
  }

  @Override
  void assertNothingHeldFor(String tenant) {
    Await.until("the edge holds no session of " + tenant,
        () -> edge.sessions().stream().noneMatch(s -> s.tenant().equals(tenant)));
  }

  @Test
  void theSessionSpansBothServers() {
    Set<String> nodes = opened.getDevicesList().stream().map(d -> d.getNode()).collect(Collectors.toSet());
    assertEquals(Set.of("span-a", "span-b"), nodes);
  }
}
