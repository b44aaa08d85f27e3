package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.session.GatewayListener;
import io.spillway.pool.session.SpillTarget;
import io.spillway.security.Caller;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.Pki;
import io.spillway.security.tls.TlsFiles;
import io.spillway.testkit.Await;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Edge -> center with mutual TLS: the center's interceptors see the edge's certificate identity (what
 * the center's lease check compares with the lease holder), and a client that is not an edge gets no
 * edge identity there, whatever it sends.
 */
class TlsEdgeToCenterTest {
  private static final PeerIdentity EDGE = new PeerIdentity(Role.EDGE, "east", "edge/east");
  private static final SpillwayClient.Options SHORT = SpillwayClient.Options.defaults()
      .withOpenTimeout(Duration.ofSeconds(10));

  @TempDir Path dir;
  private final Pki ca = Pki.create("test CA");
  /** Caller.PEER of each session call the center received, as its interceptors saw it ("none" if absent). */
  private final List<String> seenAtCenter = new CopyOnWriteArrayList<>();

  private final ServerInterceptor recorder = new ServerInterceptor() {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      if (call.getMethodDescriptor().getFullMethodName().endsWith("Session")) {
        seenAtCenter.add(Caller.current().peer().map(PeerIdentity::toString).orElse("none"));
      }
      return next.startCall(call, headers);
    }
  };

  /** Spills every session to {@code center} under a made-up lease. */
  private static SpillTarget to(String center) {
    return new SpillTarget() {
      @Override
      public boolean spillFirst(PoolSnapshot local) {
        return true;
      }

      @Override
      public CompletableFuture<Spill> borrow(SessionId session, io.spillway.pool.placement.SliceRequest request,
          Consumer<Status> lost) {
        return CompletableFuture.completedFuture(new Spill(center, "lease-1", 1));
      }

      @Override
      public void giveBack(Spill spill) {}
    };
  }

  @Test
  void theCenterSeesTheEdgeByItsCertificateAndNobodyElseAsAnEdge() throws Exception {
    TlsFiles centerFiles = ca.issue(dir.resolve("center"), "center",
        new PeerIdentity(Role.CENTER, "center-1", "center"), List.of());
    TlsFiles edgeFiles = ca.issue(dir.resolve("edge"), "edge", EDGE, List.of());
    try (GatewayCore center = new GatewayCore(GatewayConfig.local("center-1", "center")
            .withTls(new GatewayConfig.Tls(centerFiles, true)), Clock.systemUTC(), GatewayListener.NONE,
            List.of(recorder)).start();
        GatewayCore edge = new GatewayCore(GatewayConfig.local("east", "edge/east")
            .withTls(new GatewayConfig.Tls(edgeFiles, false)), Clock.systemUTC(), GatewayListener.NONE).start()) {
      edge.spillTo(to(center.address()));
      Path caFile = dir.resolve("edge").resolve(Pki.CA_FILE);
      try (SpillwayClient tenant = SpillwayClient.builder(edge.address()).trustedCa(caFile).options(SHORT).build()) {
        // The center has no lease authority here, so it refuses the session; who it saw is the point.
        assertThrows(SpillwayException.class, () -> tenant.open(SliceRequest.builder().tenant("acme")
            .memoryBytes(1 << 20).build()));
      }
      Await.until("the center saw the spilled open", () -> !seenAtCenter.isEmpty());
      assertEquals("edge east of pool edge/east", seenAtCenter.get(0));

      // Straight to the center: an agent's certificate is no edge's; no certificate does not connect.
      TlsFiles agent = ca.issue(dir.resolve("agent"), "agent", new PeerIdentity(Role.AGENT, "worker-7", ""), List.of());
      try (SpillwayClient pretender = SpillwayClient.builder(center.address()).trustedCa(caFile)
          .clientCertificate(agent.cert(), agent.key()).options(SHORT).build()) {
        assertThrows(SpillwayException.class, () -> pretender.open(SliceRequest.builder().tenant("acme")
            .memoryBytes(1 << 20).build()));
      }
      Await.until("the center saw the pretender's open", () -> seenAtCenter.size() == 2);
      assertEquals("agent worker-7", seenAtCenter.get(1));
      try (SpillwayClient anonymous = SpillwayClient.builder(center.address()).trustedCa(caFile).options(SHORT)
          .build()) {
        SpillwayException e = assertThrows(SpillwayException.class, () -> anonymous.open(
            SliceRequest.builder().tenant("acme").memoryBytes(1 << 20).build()));
        assertEquals(Status.Code.UNAVAILABLE, e.code(), e.toString());
      }
      assertEquals(2, seenAtCenter.size(), "the handshake refused the client without a certificate");
      assertTrue(seenAtCenter.stream().filter(s -> s.startsWith("edge ")).count() == 1, seenAtCenter.toString());
    }
  }
}
