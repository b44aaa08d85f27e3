package io.spillway.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.TestBroker;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.testkit.Await;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import org.junit.jupiter.api.Test;

/**
 * One session travels edge node → center node → other center node → back to the edge, with leases over
 * a real Kafka broker, while it keeps answering MLP requests correctly: each move is a replay of the
 * edge's journal, and the client is only told (a Notice with the new devices).
 */
class SpillFailoverTest {

  private static final long GIB = 1L << 30;

  @Test
  void aSessionOutlivesTwoServersAndComesHomeWhenTheEdgeHasRoomAgain() throws Exception {
    try (Federation federation = Federation.builder().broker(TestBroker.create(), TestBroker::start)
        .centerNode("center-1", 1, 32 * GIB).centerNode("center-2", 1, 32 * GIB).leaderId("center-a").start()) {
      Federation.Node c1 = federation.node("center-1");
      Federation.Node c2 = federation.node("center-2");
      Federation.Edge east = federation.edge("east",
          FailoverConfig.defaults().withFailback(FailoverConfig.Failback.WHEN_IDLE));
      GatewayCore edge = east.core();
      LeaseClient edgeLeases = east.leases();
      LeaseSpill spill = east.spill();
      Federation.Node e1 = federation.node(edge, "edge-1", "edge/east", 1, 8 * GIB);
      SpillwayClient client = SpillwayClient.connect(edge.address());

      MlpModel model = MlpModel.random(21, 64, 128, 10);
      GpuSession gpu = client.open(SliceRequest.builder().tenant("acme").memoryBytes(6 * GIB).build());
      MlpService mlp = new MlpService(gpu, model, 8);
      int[] requests = {0};
      Runnable serve = () -> {
        for (int i = 0; i < 5; i++) {
          int batch = 1 + (requests[0] % 8);
          float[] x = model.randomInput(requests[0]++, batch);
          float diff = MlpModel.maxAbsDiff(model.forwardCpu(x, batch), mlp.infer(x, batch));
          assertTrue(diff < 1e-4f, "request " + requests[0] + " differs from the CPU by " + diff);
        }
      };
      serve.run();
      assertEquals("edge/east", gpu.devices().get(0).pool());

      // 1. The edge's only GPU server dies: the session goes to the center under a lease.
      e1.close();
      serve.run();
      assertEquals("center", gpu.devices().get(0).pool());
      String firstCenterNode = gpu.devices().get(0).node();
      assertEquals(1, spill.borrowed().size(), "one lease held for the moved session");
      String firstLease = spill.borrowed().keySet().iterator().next();

      // 2. The center server under it dies: a new lease on the other center server.
      (firstCenterNode.equals("center-1") ? c1 : c2).close();
      serve.run();
      assertEquals("center", gpu.devices().get(0).pool());
      assertNotEquals(firstCenterNode, gpu.devices().get(0).node());
      Await.until("the first lease is given back",
          () -> edgeLeases.lease(firstLease).map(l -> l.getState() == LeaseState.RELEASED).orElse(false));

      // 3. The edge has a GPU again: the idle session comes home (failback when-idle), its lease goes back.
      federation.node(edge, "edge-2", "edge/east", 1, 8 * GIB);
      Await.until("the session came back to the edge", () -> edge.sessions().get(0).nodeId().equals("edge-2"));
      serve.run();
      assertEquals("edge/east", gpu.devices().get(0).pool());
      Await.until("no lease held once the session is home", () -> spill.borrowed().isEmpty());
      assertEquals(3, edge.sessions().get(0).replays());
      gpu.close();
      client.close();
    }
  }
}
