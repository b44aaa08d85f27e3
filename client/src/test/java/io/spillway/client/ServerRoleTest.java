package io.spillway.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.spillway.protocol.v1.Op;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.Pki;
import io.spillway.security.tls.TlsContexts;
import io.spillway.security.tls.TlsFiles;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK over TLS checks the role the server's certificate names: one CA signs every component of a
 * deployment, so a GPU node's or an agent's certificate is as valid as a gateway's, and a client that
 * trusts the CA alone would hand its token and work to whichever of them answers at the gateway's address.
 */
class ServerRoleTest {

  private static final SpillwayClient.Options SHORT = SpillwayClient.Options.defaults()
      .withOpenTimeout(Duration.ofSeconds(10)).withCloseTimeout(Duration.ofSeconds(5));
  private static final SliceRequest SLICE = SliceRequest.builder().tenant("t").memoryBytes(64L << 20).build();

  @TempDir
  static Path dir;
  private static Pki pki;
  private static Path ca;

  private final FakeGpuService fake = new FakeGpuService();
  private Server server;

  @BeforeAll
  static void ca() {
    pki = Pki.create("server role test CA");
    ca = pki.writeCa(dir.resolve(Pki.CA_FILE));
  }

  @AfterEach
  void stop() throws Exception {
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private String serve(String name, PeerIdentity id) throws Exception {
    TlsFiles files = pki.issue(dir.resolve(name), name, id, List.of("127.0.0.1"));
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .sslContext(TlsContexts.of(files).server(ClientAuth.OPTIONAL)).addService(fake).build().start();
    return "127.0.0.1:" + server.getPort();
  }

  @Test
  void aNodeCertificateAtTheGatewaysAddressIsRefusedBeforeAnythingIsSent() throws Exception {
    String target = serve("node", new PeerIdentity(Role.NODE, "gpu-3", "edge/east"));
    try (SpillwayClient client = SpillwayClient.builder(target).trustedCa(ca).options(SHORT).build()
        .token("header.payload.signature")) {
      SpillwayException e = assertThrows(SpillwayException.class, () -> client.open(SLICE));
      assertEquals(Status.Code.UNAVAILABLE, e.code(), e.toString());
      assertTrue(e.getMessage().contains("names node gpu-3 of pool edge/east, but the client expects edge or center"),
          e.getMessage());
    }
    assertEquals(List.of(), fake.frames, "nothing reached the node");
  }

  @Test
  void anAgentCertificateIsRefusedToo() throws Exception {
    String target = serve("agent", new PeerIdentity(Role.AGENT, "worker-7", ""));
    try (SpillwayClient client = SpillwayClient.builder(target).trustedCa(ca).options(SHORT).build()) {
      SpillwayException e = assertThrows(SpillwayException.class, () -> client.open(SLICE));
      assertEquals(Status.Code.UNAVAILABLE, e.code(), e.toString());
      assertTrue(e.getMessage().contains("names agent worker-7"), e.getMessage());
    }
    assertEquals(List.of(), fake.frames);
  }

  @Test
  void edgeAndCenterCertificatesAreGateways() throws Exception {
    for (PeerIdentity id : List.of(new PeerIdentity(Role.EDGE, "east", "edge/east"),
        new PeerIdentity(Role.CENTER, "center-1", "center"))) {
      fake.frames.clear();
      String target = serve(id.role().uriName(), id);
      try (SpillwayClient client = SpillwayClient.builder(target).trustedCa(ca).options(SHORT).build();
          GpuSession gpu = client.open(SLICE)) {
        assertTrue(fake.ops().stream().anyMatch(Op::hasOpen), id.toString());
      }
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aClientThatNamesTheNodeRoleOrOptsOutTalksToANode() throws Exception {
    String target = serve("node2", new PeerIdentity(Role.NODE, "gpu-4", "edge/east"));
    try (SpillwayClient node = SpillwayClient.builder(target).trustedCa(ca).serverRoles(Role.NODE).options(SHORT)
        .build(); GpuSession gpu = node.open(SLICE)) {
      assertTrue(fake.ops().stream().anyMatch(Op::hasOpen));
    }
    fake.frames.clear();
    try (SpillwayClient any = SpillwayClient.builder(target).trustedCa(ca).anyServerRole().options(SHORT).build();
        GpuSession gpu = any.open(SLICE)) {
      assertTrue(fake.ops().stream().anyMatch(Op::hasOpen));
    }
    // Naming only the gateway roles refuses it, as the default does.
    try (SpillwayClient edgeOnly = SpillwayClient.builder(target).trustedCa(ca).serverRoles(Role.EDGE).options(SHORT)
        .build()) {
      SpillwayException e = assertThrows(SpillwayException.class, () -> edgeOnly.open(SLICE));
      assertTrue(e.getMessage().contains("but the client expects edge"), e.getMessage());
    }
  }
}
