package io.spillway.security.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.spillway.security.Caller;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real TLS over loopback: who the server sees, who is refused, and certificates replaced while serving. */
class TlsContextsTest {

  /** A unary call answering with the caller's {@link Caller#PEER}, or "none". */
  private static final MethodDescriptor<String, String> WHO = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("test.Who/Am")
      .setRequestMarshaller(new Text()).setResponseMarshaller(new Text()).build();

  private static final PeerIdentity NODE = new PeerIdentity(Role.NODE, "gpu-1", "edge/east");
  private static final PeerIdentity EDGE = new PeerIdentity(Role.EDGE, "east", "edge/east");

  @TempDir Path dir;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;
  private final Pki ca = Pki.create("test CA");
  /** A clock the test moves, so that the files are looked at again when the test says. */
  private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
  private final InstantSource clock = () -> now.get();

  @AfterEach
  void close() throws InterruptedException {
    channels.forEach(ManagedChannel::shutdownNow);
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private int serve(TlsContexts tls, ClientAuth auth) throws Exception {
    return serve(tls, auth, new PeerCertificateInterceptor());
  }

  private int serve(TlsContexts tls, ClientAuth auth, ServerInterceptor... interceptors) throws Exception {
    ServerServiceDefinition svc = ServerServiceDefinition.builder("test.Who")
        .addMethod(WHO, ServerCalls.asyncUnaryCall((req, out) -> {
          PeerIdentity p = Caller.PEER.get();
          out.onNext(p == null ? "none" : p.toString());
          out.onCompleted();
        })).build();
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .sslContext(tls.server(auth))
        .addService(ServerInterceptors.intercept(svc, interceptors))
        .build().start();
    return server.getPort();
  }

  private String call(NettyChannelBuilder b) {
    ManagedChannel ch = b.build();
    channels.add(ch);
    return ClientCalls.blockingUnaryCall(ch, WHO, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "");
  }

  private NettyChannelBuilder tlsTo(int port, TlsContexts tls, PeerCheck check) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(tls.client(check));
  }

  @Test
  void theServerSeesTheComponentTheClientCertificateNames() throws Exception {
    int port = serve(TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of())), ClientAuth.REQUIRE);
    TlsContexts node = TlsContexts.of(ca.issue(dir.resolve("node"), "node", NODE, List.of()));
    AtomicReference<Optional<PeerIdentity>> serverSeen = new AtomicReference<>();
    assertEquals("node gpu-1 of pool edge/east", call(tlsTo(port, node, (h, p, peer) -> {
      serverSeen.set(peer);
      return Optional.empty();
    })));
    assertEquals(Optional.of(EDGE), serverSeen.get(), "the client saw the server's identity during the handshake");
  }

  @Test
  void connectionsNegotiateTls13WithAesGcm() throws Exception {
    AtomicReference<SSLSession> session = new AtomicReference<>();
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        session.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
        return next.startCall(call, headers);
      }
    };
    int port = serve(TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of())), ClientAuth.REQUIRE,
        new PeerCertificateInterceptor(), capture);
    TlsContexts node = TlsContexts.of(ca.issue(dir.resolve("node"), "node", NODE, List.of()));
    call(tlsTo(port, node, PeerCheck.ANY));
    assertEquals("TLSv1.3", session.get().getProtocol());
    // AES-GCM runs on the CPU's AES instructions; ChaCha20 would cost bulk transfers several times more.
    assertTrue(session.get().getCipherSuite().matches("TLS_AES_(128|256)_GCM_SHA(256|384)"),
        session.get().getCipherSuite());
  }

  /**
   * The engines given to gRPC's SslHandler decrypt all the whole records of a read in one unwrap, as
   * Netty's own handlers do with OpenSSL, not one record per call as the SSLEngine contract (and
   * {@code SslContext.newEngine}) has it.
   */
  @Test
  void anOpenSslEngineDecryptsEveryWholeRecordOfAReadInOneUnwrap() throws Exception {
    Assumptions.assumeTrue(OpenSsl.isAvailable(), "netty-tcnative does not load here");
    TlsContexts edge = TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of()));
    TlsContexts node = TlsContexts.of(ca.issue(dir.resolve("node"), "node", NODE, List.of()));
    SSLEngine server = edge.server(ClientAuth.REQUIRE).newEngine(ByteBufAllocator.DEFAULT);
    SSLEngine client = node.client(PeerCheck.ANY).newEngine(ByteBufAllocator.DEFAULT, "127.0.0.1", 443);
    try {
      ByteBuffer toServer = ByteBuffer.allocateDirect(1 << 18);
      ByteBuffer toClient = ByteBuffer.allocateDirect(1 << 18);
      ByteBuffer sink = ByteBuffer.allocateDirect(1 << 18);
      client.beginHandshake();
      server.beginHandshake();
      for (int i = 0; i < 50 && !(finished(client) && finished(server)); i++) {
        step(client, toServer, toClient, sink);
        step(server, toClient, toServer, sink);
      }
      assertTrue(finished(client) && finished(server), "handshake in memory did not finish");
      // The server's session tickets reach the client before the data is measured.
      step(client, toServer, toClient, sink);
      toServer.clear();
      byte[] record = new byte[16 << 10];
      new java.util.Random(1).nextBytes(record);
      assertEquals(SSLEngineResult.Status.OK, client.wrap(ByteBuffer.wrap(record), toServer).getStatus());
      assertEquals(SSLEngineResult.Status.OK, client.wrap(ByteBuffer.wrap(record), toServer).getStatus());
      toServer.flip();
      int both = toServer.remaining();
      ByteBuffer plain = ByteBuffer.allocateDirect(1 << 18);
      SSLEngineResult r = server.unwrap(toServer, plain);
      assertEquals(both, r.bytesConsumed(), "both records in one unwrap");
      assertEquals(2 * record.length, r.bytesProduced());
    } finally {
      io.netty.util.ReferenceCountUtil.release(client);
      io.netty.util.ReferenceCountUtil.release(server);
    }
  }

  private static boolean finished(SSLEngine e) {
    SSLEngineResult.HandshakeStatus s = e.getHandshakeStatus();
    return s == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING || s == SSLEngineResult.HandshakeStatus.FINISHED;
  }

  /** One turn of an in-memory handshake: runs tasks, writes what {@code e} has to send, reads what came. */
  private static void step(SSLEngine e, ByteBuffer out, ByteBuffer in, ByteBuffer sink) throws Exception {
    for (Runnable task = e.getDelegatedTask(); task != null; task = e.getDelegatedTask()) {
      task.run();
    }
    if (e.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
      e.wrap(ByteBuffer.allocate(0), out);
    }
    in.flip();
    // Once even with nothing to read: after a delegated task the engine goes on only when called again.
    SSLEngineResult r;
    do {
      r = e.unwrap(in, sink);
      sink.clear();
      for (Runnable task = e.getDelegatedTask(); task != null; task = e.getDelegatedTask()) {
        task.run();
      }
    } while (in.hasRemaining() && r.bytesConsumed() > 0);
    in.compact();
  }

  @Test
  void aLargeMessageCrossesTlsWhole() throws Exception {
    byte[] big = new byte[6 << 20];
    new java.util.Random(3).nextBytes(big);
    MethodDescriptor<byte[], byte[]> echo = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("test.Echo/Back")
        .setRequestMarshaller(new Bytes()).setResponseMarshaller(new Bytes()).build();
    TlsContexts edge = TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of()));
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .sslContext(edge.server(ClientAuth.REQUIRE)).maxInboundMessageSize(8 << 20)
        .addService(ServerServiceDefinition.builder("test.Echo")
            .addMethod(echo, ServerCalls.asyncUnaryCall((req, out) -> {
              out.onNext(req);
              out.onCompleted();
            })).build())
        .build().start();
    TlsContexts node = TlsContexts.of(ca.issue(dir.resolve("node"), "node", NODE, List.of()));
    ManagedChannel ch = tlsTo(server.getPort(), node, PeerCheck.ANY).maxInboundMessageSize(8 << 20).build();
    channels.add(ch);
    byte[] back = ClientCalls.blockingUnaryCall(ch, echo, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS),
        big);
    assertTrue(java.util.Arrays.equals(big, back), "6 MiB came back changed");
  }

  @Test
  void anRsaKeyServesAsWellAsAnEcOne() throws Exception {
    TlsFiles rsa = ca.issue(dir.resolve("rsa"), "edge", List.of(SpillwayUri.of(EDGE)), List.of(), Pki.KeyType.RSA,
        Pki.DEFAULT_VALIDITY);
    int port = serve(TlsContexts.of(rsa), ClientAuth.REQUIRE);
    TlsContexts node = TlsContexts.of(ca.issue(dir.resolve("node"), "node", List.of(SpillwayUri.of(NODE)), List.of(),
        Pki.KeyType.RSA, Pki.DEFAULT_VALIDITY));
    assertEquals("node gpu-1 of pool edge/east", call(tlsTo(port, node, PeerCheck.ANY)));
  }

  @Test
  void aCertificateOfAnotherCaIsRefusedAndTheServerServesOthersOn() throws Exception {
    int strict = serve(TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of())), ClientAuth.REQUIRE);
    Pki other = Pki.create("another CA");
    // The attacker trusts the server's CA but presents a certificate of its own CA naming a real node.
    TlsFiles forged = other.issue(dir.resolve("forged"), "node", NODE, List.of());
    Files.copy(dir.resolve("edge").resolve(Pki.CA_FILE), forged.trustedCa(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> call(tlsTo(strict, TlsContexts.of(forged), PeerCheck.ANY)));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    // Where client certificates are optional (a tenant with a token only) the forged one proves nothing.
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    int port = serve(TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of())), ClientAuth.OPTIONAL);
    int optional = port;
    assertEquals("none", call(tlsTo(optional, TlsContexts.of(forged), PeerCheck.ANY)));
    // And a client that trusts only the other CA does not trust the server.
    TlsContexts trustsOther = TlsContexts.trusting(other.writeCa(dir.resolve("other-ca.crt")));
    assertEquals(Status.Code.UNAVAILABLE, assertThrows(StatusRuntimeException.class,
        () -> call(tlsTo(port, trustsOther, PeerCheck.ANY))).getStatus().getCode());
    TlsContexts node = TlsContexts.of(ca.issue(dir.resolve("node"), "node", NODE, List.of()));
    assertEquals("node gpu-1 of pool edge/east", call(tlsTo(port, node, PeerCheck.ANY)));
  }

  @Test
  void optionalClientAuthLetsATokenOnlyClientInWithNoPeerAndRequireDoesNot() throws Exception {
    TlsFiles edge = ca.issue(dir.resolve("edge"), "edge", EDGE, List.of());
    int port = serve(TlsContexts.of(edge), ClientAuth.OPTIONAL);
    assertEquals("none", call(tlsTo(port, TlsContexts.trusting(edge.trustedCa()), PeerCheck.ANY)));
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    int strict = serve(TlsContexts.of(edge), ClientAuth.REQUIRE);
    assertEquals(Status.Code.UNAVAILABLE, assertThrows(StatusRuntimeException.class,
        () -> call(tlsTo(strict, TlsContexts.trusting(edge.trustedCa()), PeerCheck.ANY))).getStatus().getCode());
  }

  @Test
  void plaintextIsRefusedByATlsServer() throws Exception {
    int port = serve(TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of())), ClientAuth.OPTIONAL);
    assertEquals(Status.Code.UNAVAILABLE, assertThrows(StatusRuntimeException.class,
        () -> call(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext())).getStatus().getCode());
  }

  @Test
  void aCertificateNamingNoComponentGivesNoPeer() throws Exception {
    int port = serve(TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of())), ClientAuth.REQUIRE);
    for (List<String> uris : List.of(List.<String>of(), List.of("spillway://node/gpu-1"),
        List.of(SpillwayUri.of(NODE), SpillwayUri.of(EDGE)), List.of("spillway://root/x"))) {
      TlsFiles odd = ca.issue(dir.resolve("odd" + uris.size() + uris.hashCode()), "odd", uris, List.of(),
          Pki.KeyType.EC, Pki.DEFAULT_VALIDITY);
      assertEquals("none", call(tlsTo(port, TlsContexts.of(odd), PeerCheck.ANY)), uris.toString());
    }
  }

  @Test
  void aClientRefusesAServerItsCheckDoesNotAccept() throws Exception {
    int port = serve(TlsContexts.of(ca.issue(dir.resolve("node"), "node", NODE, List.of())), ClientAuth.REQUIRE);
    TlsContexts edge = TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of()));
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> call(tlsTo(port, edge,
        (h, p, peer) -> peer.filter(id -> id.name().equals("gpu-2")).isPresent() ? Optional.empty()
            : Optional.of("expected node gpu-2, found " + peer))));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
  }

  @Test
  void aServerCertificateWithoutTheDialedHostIsRefused() throws Exception {
    int port = serve(TlsContexts.of(ca.issue(dir.resolve("edge"), "edge", EDGE, List.of())), ClientAuth.OPTIONAL);
    TlsContexts client = TlsContexts.trusting(dir.resolve("edge").resolve(Pki.CA_FILE));
    assertEquals("none", call(tlsTo(port, client, PeerCheck.ANY)));
    // The certificate names localhost and 127.0.0.1, not this name, though the connection reaches it.
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> call(
        NettyChannelBuilder.forAddress("127.0.0.1", port).overrideAuthority("gateway.example:" + port)
            .sslContext(client.client(PeerCheck.ANY))));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
  }

  @Test
  void replacedFilesAreUsedForNewConnectionsWithoutARestart() throws Exception {
    Path serverDir = dir.resolve("server");
    TlsFiles serverFiles = ca.issue(serverDir, "gw", EDGE, List.of());
    TlsContexts serverTls = TlsContexts.of(serverFiles, clock, Duration.ofSeconds(1));
    int port = serve(serverTls, ClientAuth.REQUIRE);
    Path clientDir = dir.resolve("client");
    TlsContexts clientTls = TlsContexts.of(ca.issue(clientDir, "me", NODE, List.of()), clock, Duration.ofSeconds(1));
    List<Optional<PeerIdentity>> servers = new ArrayList<>();
    PeerCheck record = (h, p, peer) -> {
      servers.add(peer);
      return Optional.empty();
    };
    NettyChannelBuilder first = tlsTo(port, clientTls, record);
    assertEquals("node gpu-1 of pool edge/east", call(first));
    ManagedChannel kept = channels.get(0);

    // cert-manager renews both certificates: new keys, and here new names so that the change shows.
    PeerIdentity node2 = new PeerIdentity(Role.NODE, "gpu-1-renewed", "edge/east");
    PeerIdentity center = new PeerIdentity(Role.CENTER, "center", "center");
    ca.issue(clientDir, "me", node2, List.of());
    ca.issue(serverDir, "gw", center, List.of());
    // Within the check interval the files are not looked at.
    assertEquals("node gpu-1 of pool edge/east", call(tlsTo(port, clientTls, record)));
    now.set(now.get().plusSeconds(2));
    assertEquals("node gpu-1-renewed of pool edge/east", call(tlsTo(port, clientTls, record)));
    assertEquals(Optional.of(center), servers.get(servers.size() - 1));
    assertEquals(Optional.of(EDGE), servers.get(0));
    // The connection made before the renewal goes on with the certificates it was made with.
    assertEquals("node gpu-1 of pool edge/east",
        ClientCalls.blockingUnaryCall(kept, WHO, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), ""));
  }

  @Test
  void halfWrittenFilesKeepThePreviousCertificateInUse() throws Exception {
    TlsFiles serverFiles = ca.issue(dir.resolve("server"), "gw", EDGE, List.of());
    TlsContexts serverTls = TlsContexts.of(serverFiles, clock, Duration.ofSeconds(1));
    int port = serve(serverTls, ClientAuth.REQUIRE);
    TlsFiles client = ca.issue(dir.resolve("client"), "me", NODE, List.of());
    String before = serverTls.certificate().getSerialNumber().toString();
    // A new certificate arrives before its key: they do not belong together.
    Path otherDir = dir.resolve("other");
    ca.issue(otherDir, "gw", EDGE, List.of());
    Files.copy(otherDir.resolve("gw.crt"), serverFiles.cert(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    now.set(now.get().plusSeconds(2));
    assertEquals("node gpu-1 of pool edge/east", call(tlsTo(port, TlsContexts.of(client), PeerCheck.ANY)));
    assertEquals(before, serverTls.certificate().getSerialNumber().toString(), "the old pair stays in use");
    // The key follows: the pair is used.
    Files.copy(otherDir.resolve("gw.key"), serverFiles.key(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    now.set(now.get().plusSeconds(2));
    assertEquals("node gpu-1 of pool edge/east", call(tlsTo(port, TlsContexts.of(client), PeerCheck.ANY)));
    assertTrue(!before.equals(serverTls.certificate().getSerialNumber().toString()), "the new pair is in use");
  }

  @Test
  void badFilesFailTheStartNamingTheFile() throws Exception {
    TlsFiles good = ca.issue(dir.resolve("g"), "gw", EDGE, List.of());
    Path pkcs1 = dir.resolve("rsa.key");
    Files.writeString(pkcs1, "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TlsContexts.of(new TlsFiles(good.cert(), pkcs1, good.trustedCa())));
    assertTrue(e.getMessage().contains(pkcs1.toString()) && e.getMessage().contains("pkcs8"), e.getMessage());
    IllegalArgumentException partial = assertThrows(IllegalArgumentException.class, () -> TlsFiles.fromKeys(
        "spillway.edge.tls.", Optional.of(good.cert().toString()), Optional.empty(), Optional.empty()));
    assertTrue(partial.getMessage().contains("spillway.edge.tls.key") && partial.getMessage().contains("spillway.edge.tls.ca"),
        partial.getMessage());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> TlsFiles.fromKeys(
        "spillway.edge.tls.", Optional.of("/nonexistent.crt"), Optional.of(good.key().toString()),
        Optional.of(good.trustedCa().toString())));
    assertTrue(missing.getMessage().contains("spillway.edge.tls.cert is /nonexistent.crt"), missing.getMessage());
    assertEquals(Optional.empty(), TlsFiles.fromKeys("p.", Optional.empty(), Optional.empty(), Optional.of(" ")));
  }

  @Test
  void keysAreReadableByTheirOwnerOnly() throws Exception {
    TlsFiles f = ca.issue(dir.resolve("perm"), "gw", EDGE, List.of());
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(f.key())));
    assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(f.cert())));
  }

  private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (java.io.IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private static final class Text implements MethodDescriptor.Marshaller<String> {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (java.io.IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
