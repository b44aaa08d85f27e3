package io.spillway.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.lease.LeaseAdmin;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.TestBroker;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseRef;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.testkit.Await;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Client -> edge gateway -> center gateway -> center node, with the lease coordinated over a real
 * Kafka broker (embedded KRaft): a session the edge cannot hold runs on the center and computes what a
 * local one computes.
 */
class SpillEndToEndTest {

  private static final long GIB = 1L << 30;

  private static Federation federation;
  private static String bootstrap;
  private static CenterGateway center;
  private static GatewayCore edge;
  private static LeaseClient edgeLeases;
  private static LeaseSpill spill;
  private static SpillwayClient client;

  @BeforeAll
  static void federation() throws Exception {
    federation = Federation.builder().broker(TestBroker.create(), TestBroker::start).start();
    bootstrap = federation.bootstrap();
    center = federation.center();
    Federation.Edge east = federation.edge("east", FailoverConfig.off());
    edge = east.core();
    edgeLeases = east.leases();
    spill = east.spill();
    federation.node(edge, "edge-node", "edge/east", 1, 8 * GIB);
    client = SpillwayClient.connect(edge.address());
  }

  /** Each test starts from an idle federation, whatever ran before it. */
  @AfterEach
  void idle() {
    Await.until("the edge holds no session", () -> edge.sessions().isEmpty());
    Await.until("the edge holds no lease", () -> spill.borrowed().isEmpty());
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (federation != null) {
      federation.close();
    }
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
      Await.until("the lease is released when the spilled session ends",
          () -> edgeLeases.lease(id).map(l -> l.getState() == LeaseState.RELEASED).orElse(false));
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
          && r.getError().getCode() == Status.Code.NOT_FOUND.value()
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
      Await.until("the drained lease is released by the edge",
          () -> edgeLeases.lease(id).map(l -> l.getState() == LeaseState.RELEASED).orElse(false));
      local.synchronize();
    }
  }
}
