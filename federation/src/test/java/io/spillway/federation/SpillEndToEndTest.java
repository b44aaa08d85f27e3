package io.spillway.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.lease.TestBroker;
import io.spillway.lease.LeaseAdmin;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseTopics;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.gateway.FailoverConfig;
import io.spillway.pool.gateway.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.gateway.GatewayListener;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseRef;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Client -> edge gateway -> center gateway -> center node, with the lease coordinated over a real
 * Kafka broker (embedded KRaft): a session the edge cannot hold runs on the center and computes what a
 * local one computes.
 */
class SpillEndToEndTest {

  private static final long GIB = 1L << 30;

  private static TestBroker kafka;
  private static String bootstrap;
  private static final List<AutoCloseable> closeables = new ArrayList<>();
  private static CenterGateway center;
  private static GatewayCore edge;
  private static LeaseClient edgeLeases;
  private static LeaseSpill spill;
  private static SpillwayClient client;

  @BeforeAll
  static void federation() throws Exception {
    kafka = TestBroker.create();
    bootstrap = kafka.start();
    LeaseTopics.ensure(bootstrap, (short) 1);
    LeaseConfig leases = LeaseConfig.defaults().withLeaseDuration(Duration.ofSeconds(6))
        .withSkewMargin(Duration.ofSeconds(1)).withDrainDuration(Duration.ofSeconds(1))
        .withSessionTimeout(Duration.ofSeconds(2)).withMaxPollInterval(Duration.ofSeconds(3));
    center = new CenterGateway(GatewayConfig.local("center", "center"), bootstrap, leases, Clock.systemUTC(),
        GatewayListener.NONE).start();
    node(center.core(), "center-node", "center", 1, 32 * GIB);
    center.startLeasing("center-1");
    await(() -> center.manager().isLeader(), "the center's lease manager leads");

    edge = new GatewayCore(GatewayConfig.local("edge-east", "edge/east"), Clock.systemUTC(), GatewayListener.NONE)
        .failover(FailoverConfig.off());
    edgeLeases = new LeaseClient(bootstrap, "edge-east", leases, Clock.systemUTC());
    edgeLeases.start(Duration.ofSeconds(30));
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    closeables.add(timer::shutdownNow);
    spill = new LeaseSpill(edgeLeases, center.core().address(), LeaseSpill.Mode.WHEN_FULL, 90,
        leases.leaseDuration(), Duration.ofSeconds(10), timer);
    edge.spillTo(spill).start();
    node(edge, "edge-node", "edge/east", 1, 8 * GIB);
    client = SpillwayClient.connect(edge.address());
  }

  private static void node(GatewayCore gateway, String id, String pool, int cards, long memory) throws Exception {
    GpuNode node = new GpuNode(new NodeOptions(id, pool, 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(cards, "V100", memory));
    GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    GatewayRegistrar registrar = new GatewayRegistrar(node, gateway.address(), "127.0.0.1:" + server.port(), 200)
        .start();
    closeables.add(server);
    closeables.add(registrar);
    await(() -> gateway.registry().node(id).map(n -> n.isUp()).orElse(false), id + " registered");
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

  @AfterAll
  static void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (edge != null) {
      edge.close();
    }
    if (edgeLeases != null) {
      edgeLeases.close();
    }
    for (AutoCloseable c : closeables) {
      c.close();
    }
    if (center != null) {
      center.close();
    }
    kafka.close();
  }

  private static SliceRequest gib(String tenant, long gib) {
    return SliceRequest.builder().tenant(tenant).memoryBytes(gib * GIB).build();
  }

  @Test
  void aSessionTheEdgeCannotHoldRunsOnTheCenterWithTheSameResults() throws Exception {
    MlpModel model = MlpModel.random(11, 64, 128, 10);
    float[] x = model.randomInput(5, 16);
    float[] cpu = model.forwardCpu(x, 16);
    try (GpuSession local = client.open(gib("acme", 6));
        GpuSession spilled = client.open(gib("acme", 6))) {
      assertEquals("edge/east", local.devices().get(0).pool());
      assertEquals("center", spilled.devices().get(0).pool(), "the second 6 GiB does not fit the 8 GiB edge card");
      assertEquals("center-node", spilled.devices().get(0).node());
      float[] fromEdge = new MlpService(local, model, 16).infer(x, 16);
      float[] fromCenter = new MlpService(spilled, model, 16).infer(x, 16);
      assertTrue(MlpModel.maxAbsDiff(fromEdge, cpu) < 1e-5);
      assertEquals(0f, MlpModel.maxAbsDiff(fromEdge, fromCenter), "a spilled session computes what a local one does");
      assertEquals(1, spill.borrowed().size());
      Lease lease = spill.borrowed().values().iterator().next();
      assertEquals(LeaseState.GRANTED, lease.getState());
      assertEquals(6 * GIB, lease.getSlices(0).getMemoryBytes());
      String id = lease.getLeaseId();
      spilled.close();
      await(() -> edgeLeases.lease(id).map(l -> l.getState() == LeaseState.RELEASED).orElse(false),
          "the lease is released when the spilled session ends");
    }
  }

  @Test
  void whenNeitherPoolHasRoomTheClientHearsAboutBoth() throws Exception {
    SpillwayException e = assertThrows(SpillwayException.class, () -> client.open(gib("acme", 40)));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
    assertTrue(e.getMessage().contains("edge/east") && e.getMessage().contains("center:"), e.getMessage());
  }

  @Test
  void theCenterRefusesSessionsWithoutALiveLease() throws Exception {
    // The SDK cannot name a lease (only gateways do), so speak the protocol straight to the center.
    io.grpc.ManagedChannel channel = io.grpc.netty.NettyChannelBuilder.forTarget(center.core().address())
        .usePlaintext().build();
    try {
      io.spillway.protocol.v1.Open.Builder open = io.spillway.protocol.v1.Open.newBuilder();
      LeaseRef bogus = LeaseRef.newBuilder().setLeaseId("lease-nope").setEpoch(1).build();
      var stub = io.spillway.protocol.v1.GpuSessionServiceGrpc.newStub(channel);
      var replies = new java.util.concurrent.LinkedBlockingQueue<Object>();
      var requests = stub.session(new io.grpc.stub.StreamObserver<>() {
        @Override
        public void onNext(io.spillway.protocol.v1.ServerFrame f) {
          replies.addAll(f.getRepliesList());
        }

        @Override
        public void onError(Throwable t) {
          replies.add(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {}
      });
      requests.onNext(io.spillway.protocol.v1.ClientFrame.newBuilder().addOps(io.spillway.protocol.v1.Op
          .newBuilder().setSeq(1).setOpen(open.setProtocolVersion(1).setTenant("x").setLease(bogus)
              .setSlice(io.spillway.protocol.v1.SliceRequest.newBuilder().setMemoryBytes(GIB)))).build());
      Object first = replies.poll(10, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(first instanceof io.spillway.protocol.v1.Reply r && r.hasError()
          && r.getError().getCode() == Status.Code.FAILED_PRECONDITION.value()
          && r.getError().getDescription().contains("lease-nope is not in the lease log"), String.valueOf(first));
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void aRevokedLeaseIsGivenUpWhileItDrainsAndItsSessionHearsWhy() throws Exception {
    try (GpuSession local = client.open(gib("acme", 7));
        GpuSession spilled = client.open(gib("acme", 7))) {
      assertEquals("center", spilled.devices().get(0).pool());
      String id = spill.borrowed().keySet().iterator().next();
      try (LeaseAdmin admin = new LeaseAdmin(bootstrap, "test-admin")) {
        admin.revoke(id, "rebalancing", Duration.ofSeconds(10));
      }
      // The edge is told as soon as the lease drains (not at the drain deadline); this gateway does not
      // replay sessions, so the spilled one ends with UNAVAILABLE naming the lease; the local one goes on.
      SpillwayException e = assertThrows(SpillwayException.class, () -> {
        for (int i = 0; i < 100; i++) {
          spilled.synchronize();
          Thread.sleep(50);
        }
      });
      assertEquals(Status.Code.UNAVAILABLE, e.code());
      assertTrue(e.getMessage().contains(id) && e.getMessage().contains("revoked by an admin"), e.getMessage());
      // The session gave the lease back while it drained: released, never left to be revoked.
      await(() -> edgeLeases.lease(id).map(l -> l.getState() == LeaseState.RELEASED).orElse(false),
          "the drained lease is released by the edge");
      local.synchronize();
    }
  }
}
