package io.spillway.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.placement.GpuView;
import io.spillway.pool.session.GatewayListener;
import io.spillway.simulator.trace.TraceSession;
import io.spillway.testkit.Await;
import io.spillway.topology.Edge;
import io.spillway.topology.GpuGroup;
import io.spillway.topology.GpuServer;
import io.spillway.topology.Topology;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The simulator and the gateways share the placement code: twenty sessions on the province example's
 * east edge land on the same cards, and the same ones are turned away, whether the simulator replays them
 * or a real edge gateway places them for SDK clients over gRPC, with a GPU node (host driver, the
 * topology's cards) registered over gRPC.
 */
class GatewayParityTest {

  private static final long GIB = Province.GIB;
  /** GiB and compute percent of each session; the last ones no longer fit (memory or compute). */
  private static final int[][] ASKS = {
      {16, 50}, {12, 25}, {16, 25}, {8, 10}, {12, 50}, {16, 25}, {4, 10}, {16, 50}, {12, 25}, {2, 10},
      {16, 25}, {8, 50}, {12, 10}, {16, 25}, {6, 50}, {16, 10}, {2, 25}, {16, 50}, {12, 25}, {4, 50}};

  @Test
  void binpackAndSpreadPlaceEverySessionOnTheSameCardAsTheGateway() throws Exception {
    Topology province = Province.load();
    List<TraceSession> trace = new ArrayList<>();
    for (int i = 0; i < ASKS.length; i++) {
      // "speech" may use edge-east only; every session stays open to the end of the test.
      trace.add(new TraceSession(i, 1e9, "speech", ASKS[i][0] * GIB, ASKS[i][1], List.of(), "#" + i));
    }
    List<List<String>> seen = new ArrayList<>();
    for (Policy.Packing packing : List.of(Policy.Packing.BINPACK, Policy.Packing.SPREAD)) {
      PolicyResult simulated = new Simulator(province, 60).run(trace, new Policy(packing, false));
      List<String> expected = simulated.outcomes().stream()
          .map(o -> o.placed() ? o.nodeId() + "/" + o.gpuIndex() : "rejected").toList();
      System.out.println(packing.label() + ": " + expected);
      assertTrue(expected.contains("rejected") && expected.stream().distinct().count() > 3,
          "the trace must exercise several cards and rejections: " + expected);
      assertEquals(expected, throughGateway(province.edge("edge-east").orElseThrow(), trace, packing),
          packing.label());
      seen.add(expected);
    }
    // The comparison can tell policies apart: binpack and spread place this trace differently.
    assertTrue(!seen.get(0).equals(seen.get(1)), "binpack " + seen.get(0) + " spread " + seen.get(1));
  }

  private static List<String> throughGateway(Edge edge, List<TraceSession> trace, Policy.Packing packing)
      throws Exception {
    GpuServer server = edge.gpuServers().get(0);
    GpuGroup cards = server.gpus().get(0);
    assertEquals(1, server.gpus().size(), "one group of identical cards, as HostGpuDriver.withCards makes");
    List<AutoCloseable> open = new ArrayList<>();
    GatewayCore gateway = new GatewayCore(GatewayConfig.local(edge.name(), "edge/" + edge.name()),
        Clock.systemUTC(), GatewayListener.NONE).start();
    GpuNodeServer nodeServer = null;
    GatewayRegistrar registrar = null;
    SpillwayClient client = null;
    try {
      GpuNode node = new GpuNode(new NodeOptions(server.name(), gateway.config().pool(), cards.reserve().bytes(),
          NodeOptions.DEFAULT_CHUNK_BYTES, NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000),
          HostGpuDriver.withCards(cards.count(), cards.model().label(), cards.memory().bytes()));
      nodeServer = new GpuNodeServer(node, "127.0.0.1", 0).start();
      registrar = new GatewayRegistrar(node, gateway.address(), "127.0.0.1:" + nodeServer.port(), 200).start();
      Await.until("node " + server.name() + " registered",
          () -> gateway.registry().node(server.name()).map(n -> n.isUp()).orElse(false));
      Map<String, Integer> indexByUuid = gateway.placer().snapshot().gpus().stream()
          .collect(Collectors.toMap(GpuView::uuid, GpuView::gpuIndex));
      client = SpillwayClient.connect(gateway.address());
      List<String> placed = new ArrayList<>();
      for (TraceSession s : trace) {
        try {
          GpuSession session = client.open(SliceRequest.builder().tenant(s.tenant()).memoryBytes(s.memoryBytes())
              .computePercent(s.computePercent())
              .placement(packing == Policy.Packing.SPREAD ? SliceRequest.Placement.SPREAD : SliceRequest.Placement.BINPACK)
              .build());
          open.add(session);
          placed.add(session.devices().get(0).node() + "/" + indexByUuid.get(session.devices().get(0).gpuUuid()));
        } catch (SpillwayException e) {
          assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code(), e.getMessage());
          placed.add("rejected");
        }
      }
      return placed;
    } finally {
      for (AutoCloseable c : open) {
        c.close();
      }
      if (client != null) {
        client.close();
      }
      if (registrar != null) {
        registrar.close();
      }
      if (nodeServer != null) {
        nodeServer.close();
      }
      gateway.close();
    }
  }
}
