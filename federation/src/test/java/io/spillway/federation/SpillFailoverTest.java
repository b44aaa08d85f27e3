package io.spillway.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseTopics;
import io.spillway.lease.TestBroker;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.gateway.FailoverConfig;
import io.spillway.pool.gateway.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.gateway.GatewayListener;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * One session travels edge node → center node → other center node → back to the edge, with leases over
 * a real Kafka broker, while it keeps answering MLP requests correctly: each move is a replay of the
 * edge's journal, and the client is only told (a Notice with the new devices).
 */
class SpillFailoverTest {

  private static final long GIB = 1L << 30;

  private record Node(GpuNodeServer server, GatewayRegistrar registrar) implements AutoCloseable {
    @Override
    public void close() {
      registrar.close();
      server.close();
    }
  }

  private static Node node(GatewayCore gateway, String id, String pool, long memory) throws Exception {
    GpuNode node = new GpuNode(new NodeOptions(id, pool, 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", memory));
    GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    GatewayRegistrar registrar = new GatewayRegistrar(node, gateway.address(), "127.0.0.1:" + server.port(), 200)
        .start();
    await(() -> gateway.registry().node(id).map(n -> n.isUp()).orElse(false), id + " registered");
    return new Node(server, registrar);
  }

  @Test
  void aSessionOutlivesTwoServersAndComesHomeWhenTheEdgeHasRoomAgain() throws Exception {
    List<AutoCloseable> closeables = new ArrayList<>();
    try (TestBroker kafka = TestBroker.create()) {
      String bootstrap = kafka.start();
      LeaseTopics.ensure(bootstrap, (short) 1);
      LeaseConfig leases = LeaseConfig.defaults().withLeaseDuration(Duration.ofSeconds(6))
          .withSkewMargin(Duration.ofSeconds(1)).withDrainDuration(Duration.ofSeconds(1))
          .withSessionTimeout(Duration.ofSeconds(2)).withMaxPollInterval(Duration.ofSeconds(3));
      CenterGateway center = new CenterGateway(GatewayConfig.local("center", "center"), bootstrap, leases,
          Clock.systemUTC(), GatewayListener.NONE).start();
      closeables.add(center);
      Node c1 = node(center.core(), "center-1", "center", 32 * GIB);
      Node c2 = node(center.core(), "center-2", "center", 32 * GIB);
      closeables.add(c1);
      closeables.add(c2);
      center.startLeasing("center-a");
      await(() -> center.manager().isLeader(), "the center's lease manager leads");

      GatewayCore edge = new GatewayCore(GatewayConfig.local("edge-east", "edge/east"), Clock.systemUTC(),
          GatewayListener.NONE).failover(FailoverConfig.defaults().withFailback(FailoverConfig.Failback.WHEN_IDLE));
      LeaseClient edgeLeases = new LeaseClient(bootstrap, "edge-east", leases, Clock.systemUTC());
      edgeLeases.start(Duration.ofSeconds(30));
      ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
      LeaseSpill spill = new LeaseSpill(edgeLeases, center.core().address(), LeaseSpill.Mode.WHEN_FULL, 90,
          leases.leaseDuration(), Duration.ofSeconds(10), timer);
      edge.spillTo(spill).start();
      closeables.add(0, edge);
      closeables.add(1, edgeLeases);
      closeables.add(2, timer::shutdownNow);
      Node e1 = node(edge, "edge-1", "edge/east", 8 * GIB);
      SpillwayClient client = SpillwayClient.connect(edge.address());
      closeables.add(0, client);

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
      await(() -> edgeLeases.lease(firstLease).map(l -> l.getState() == LeaseState.RELEASED).orElse(false),
          "the first lease is given back");

      // 3. The edge has a GPU again: the idle session comes home (failback when-idle), its lease goes back.
      Node e2 = node(edge, "edge-2", "edge/east", 8 * GIB);
      closeables.add(e2);
      await(() -> edge.sessions().get(0).nodeId().equals("edge-2"), "the session came back to the edge");
      serve.run();
      assertEquals("edge/east", gpu.devices().get(0).pool());
      await(() -> spill.borrowed().isEmpty(), "no lease held once the session is home");
      assertEquals(3, edge.sessions().get(0).replays());
      gpu.close();
    } finally {
      for (AutoCloseable c : closeables) {
        c.close();
      }
    }
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(20);
    }
  }
}
