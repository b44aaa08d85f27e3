package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
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
import io.spillway.pool.session.GatewayListener;
import io.spillway.protocol.v1.GpuCard;
import io.spillway.protocol.v1.HeartbeatRequest;
import io.spillway.protocol.v1.NodeRegistryServiceGrpc;
import io.spillway.protocol.v1.RegisterNodeRequest;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.PeerCheck;
import io.spillway.security.tls.Pki;
import io.spillway.security.tls.TlsContexts;
import io.spillway.security.tls.TlsFiles;
import io.spillway.testkit.Await;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client -> edge -> node with TLS on every hop, over loopback, and what an attacker who can reach the
 * gateway's port gets: a registration without a certificate, or under another node's id or pool, is
 * refused with the right status, and the real node and its session run on.
 */
class TlsHopsTest {
  private static final long GIB = 1L << 30;
  private static final String POOL = "edge/t";
  /** Refusals come at once; a client that waited out the default open timeout would hide a hang. */
  private static final SpillwayClient.Options SHORT = SpillwayClient.Options.defaults()
      .withOpenTimeout(java.time.Duration.ofSeconds(5));

  @TempDir Path dir;
  private final Pki ca = Pki.create("test CA");
  private final List<AutoCloseable> open = new ArrayList<>();
  private GatewayCore gateway;
  private GpuNodeServer node;

  @BeforeEach
  void start() throws Exception {
    TlsFiles edge = ca.issue(dir.resolve("edge"), "edge", new PeerIdentity(Role.EDGE, "t", POOL), List.of());
    gateway = new GatewayCore(GatewayConfig.local("edge-t", POOL).withTls(new GatewayConfig.Tls(edge, false)),
        Clock.systemUTC(), GatewayListener.NONE).start();
    open.add(gateway);
    node = startNode("node-a", POOL, nodeCert("node-a", POOL));
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private TlsFiles nodeCert(String id, String pool) {
    return ca.issue(dir.resolve("n-" + id + "-" + pool.replace('/', '_')), "node",
        new PeerIdentity(Role.NODE, id, pool), List.of());
  }

  private GpuNodeServer startNode(String id, String pool, TlsFiles files) throws Exception {
    TlsContexts tls = TlsContexts.of(files);
    GpuNode n = new GpuNode(new NodeOptions(id, pool, 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 32 * GIB));
    GpuNodeServer server = new GpuNodeServer(n, "127.0.0.1", 0, tls).start();
    open.add(server);
    open.add(new GatewayRegistrar(n, gateway.address(), "127.0.0.1:" + server.port(), 200, tls).start());
    Await.until("node " + id + " registered", () -> gateway.registry().node(id).map(x -> x.isUp()).orElse(false));
    return server;
  }

  private SpillwayClient client() {
    SpillwayClient c = SpillwayClient.builder(gateway.address()).trustedCa(dir.resolve("edge").resolve(Pki.CA_FILE))
        .build();
    open.add(c);
    return c;
  }

  private NodeRegistryServiceGrpc.NodeRegistryServiceBlockingStub registry(TlsContexts tls) {
    ManagedChannel ch = NettyChannelBuilder.forTarget(gateway.address()).sslContext(tls.client(PeerCheck.ANY)).build();
    open.add(ch::shutdownNow);
    return NodeRegistryServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static RegisterNodeRequest registration(String id, String pool) {
    return RegisterNodeRequest.newBuilder().setNodeId(id).setAddress("127.0.0.1:1").setPool(pool)
        .setDriver("host").setIncarnation("attacker").addGpus(GpuCard.newBuilder().setIndex(0).setUuid("GPU-evil")
            .setModel("V100").setMemoryBytes(80 * GIB).setComputeCapability("8.0")).build();
  }

  @Test
  void aSessionRunsThroughTheEdgeWithTlsOnEveryHop() throws Exception {
    MlpModel model = MlpModel.random(3, 16, 32, 4);
    try (GpuSession gpu = client().open(SliceRequest.builder().tenant("acme").memoryBytes(GIB).build())) {
      assertEquals("node-a", gpu.devices().get(0).node());
      float[] x = model.randomInput(5, 4);
      assertTrue(MlpModel.maxAbsDiff(new MlpService(gpu, model, 4).infer(x, 4), model.forwardCpu(x, 4)) < 1e-5);
    }
    assertTrue(gateway.tls());
  }

  @Test
  void plaintextIsRefusedEverywhere() {
    SpillwayClient plain = SpillwayClient.connect(gateway.address());
    open.add(plain);
    assertEquals(Status.Code.UNAVAILABLE, assertThrows(SpillwayException.class,
        () -> plain.open(SliceRequest.builder().tenant("acme").memoryBytes(GIB).build())).code());
    ManagedChannel toNode = NettyChannelBuilder.forAddress("127.0.0.1", node.port()).usePlaintext().build();
    open.add(toNode::shutdownNow);
    SpillwayClient direct = SpillwayClient.forChannel(toNode);
    assertEquals(Status.Code.UNAVAILABLE, assertThrows(SpillwayException.class,
        () -> direct.open(SliceRequest.builder().tenant("acme").memoryBytes(GIB).build())).code());
  }

  @Test
  void registrationsFromAnyoneButTheNodeAreRefusedAndTheRealNodeRunsOn() throws Exception {
    MlpModel model = MlpModel.random(3, 16, 32, 4);
    try (GpuSession gpu = client().open(SliceRequest.builder().tenant("acme").memoryBytes(GIB).build())) {
      MlpService service = new MlpService(gpu, model, 4);
      float[] x = model.randomInput(5, 4);
      assertTrue(MlpModel.maxAbsDiff(service.infer(x, 4), model.forwardCpu(x, 4)) < 1e-5);
      long generation = gateway.registry().node("node-a").orElseThrow().generation();

      // No certificate at all: TLS with the CA only.
      StatusRuntimeException none = assertThrows(StatusRuntimeException.class, () ->
          registry(TlsContexts.trusting(dir.resolve("edge").resolve(Pki.CA_FILE))).register(registration("node-a", POOL)));
      assertEquals(Status.Code.UNAUTHENTICATED, none.getStatus().getCode());
      assertTrue(none.getStatus().getDescription().contains("presented no certificate"), none.toString());

      // Another node's certificate, the node id of the live node.
      StatusRuntimeException other = assertThrows(StatusRuntimeException.class, () ->
          registry(TlsContexts.of(nodeCert("node-b", POOL))).register(registration("node-a", POOL)));
      assertEquals(Status.Code.PERMISSION_DENIED, other.getStatus().getCode());
      assertTrue(other.getStatus().getDescription().contains("names node node-b of pool edge/t"), other.toString());

      // The right node id, but of another pool; and an edge's certificate.
      for (TlsFiles wrong : List.of(nodeCert("node-a", "edge/other"), ca.issue(dir.resolve("e2"), "edge",
          new PeerIdentity(Role.EDGE, "t", POOL), List.of()))) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () ->
            registry(TlsContexts.of(wrong)).register(registration("node-a", POOL)));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.toString());
      }
      // Its own id, another pool in the request.
      StatusRuntimeException pool = assertThrows(StatusRuntimeException.class, () ->
          registry(TlsContexts.of(nodeCert("node-c", POOL))).register(registration("node-c", "edge/other")));
      assertEquals(Status.Code.PERMISSION_DENIED, pool.getStatus().getCode());

      // A heartbeat in the live node's name.
      StatusRuntimeException beat = assertThrows(StatusRuntimeException.class, () ->
          registry(TlsContexts.of(nodeCert("node-b", POOL))).heartbeat(HeartbeatRequest.newBuilder()
              .setNodeId("node-a").setIncarnation("attacker").build()));
      assertEquals(Status.Code.PERMISSION_DENIED, beat.getStatus().getCode());

      // The real node was never marked down, and its session goes on.
      var real = gateway.registry().node("node-a").orElseThrow();
      assertTrue(real.isUp());
      assertEquals(generation, real.generation());
      assertEquals(1, real.gpus().size());
      assertEquals(List.of("node-a"), gateway.registry().nodes().stream().map(n -> n.id()).toList());
      float[] y = model.randomInput(6, 4);
      assertTrue(MlpModel.maxAbsDiff(service.infer(y, 4), model.forwardCpu(y, 4)) < 1e-5);
    }
  }

  @Test
  void aNodeTakesSessionsOnlyFromAGatewayOfItsPool() throws Exception {
    Path caFile = dir.resolve("edge").resolve(Pki.CA_FILE);
    for (TlsFiles notAGateway : List.of(nodeCert("node-b", POOL), ca.issue(dir.resolve("other-edge"), "edge",
        new PeerIdentity(Role.EDGE, "u", "edge/u"), List.of()))) {
      SpillwayClient direct = SpillwayClient.builder("127.0.0.1:" + node.port()).trustedCa(caFile)
          .serverRoles(Role.NODE).clientCertificate(notAGateway.cert(), notAGateway.key()).options(SHORT).build();
      open.add(direct);
      SpillwayException e = assertThrows(SpillwayException.class,
          () -> direct.open(SliceRequest.builder().tenant("acme").memoryBytes(GIB).build()));
      assertEquals(Status.Code.PERMISSION_DENIED, e.code(), e.toString());
    }
    SpillwayClient noCertificate = SpillwayClient.builder("127.0.0.1:" + node.port()).trustedCa(caFile)
        .serverRoles(Role.NODE).options(SHORT).build();
    open.add(noCertificate);
    assertEquals(Status.Code.UNAVAILABLE, assertThrows(SpillwayException.class,
        () -> noCertificate.open(SliceRequest.builder().tenant("acme").memoryBytes(GIB).build())).code());
  }

  @Test
  void theGatewaySendsNoSessionToAServerThatIsNotTheNodeRegisteredThere() throws Exception {
    // node-x registers properly, but advertises the address of a server holding node-y's certificate.
    TlsContexts x = TlsContexts.of(nodeCert("node-x", POOL));
    GpuNode impostor = new GpuNode(new NodeOptions("node-y", POOL, 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "T4", 16 * GIB));
    GpuNodeServer server = new GpuNodeServer(impostor, "127.0.0.1", 0,
        TlsContexts.of(nodeCert("node-y", POOL))).start();
    open.add(server);
    GpuNode xNode = new GpuNode(new NodeOptions("node-x", POOL, 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "T4", 16 * GIB));
    open.add(new GatewayRegistrar(xNode, gateway.address(), "127.0.0.1:" + server.port(), 200, x).start());
    Await.until("node-x registered", () -> gateway.registry().node("node-x").map(n -> n.isUp()).orElse(false));
    SpillwayException e = assertThrows(SpillwayException.class, () -> client().open(
        SliceRequest.builder().tenant("acme").memoryBytes(GIB).models("T4").build()));
    assertTrue(e.code() == Status.Code.UNAVAILABLE || e.code() == Status.Code.RESOURCE_EXHAUSTED, e.toString());
    assertEquals(0, impostor.sessions().size(), "the impostor never saw a session");
  }
}
