package io.spillway.node.server;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.netty.handler.ssl.ClientAuth;
import io.spillway.node.GpuNode;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.PeerCertificateInterceptor;
import io.spillway.security.tls.PeerPolicy;
import io.spillway.security.tls.TlsContexts;
import io.spillway.node.NodeLimits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves a {@link GpuNode} over gRPC on Netty. With TLS, only the gateways of the node's pool may open
 * sessions: every connection must present a certificate of the trusted CA (mutual TLS), and it must name
 * an edge or center gateway of the node's pool ({@link #gatewayOfPool}); anything else is refused before
 * a session starts.
 */
public final class GpuNodeServer implements AutoCloseable {

  private final GpuNode node;
  private final Server server;
  private final ExecutorService sessionThreads;
  private final ScheduledExecutorService timers;

  /** In plaintext: anyone who connects may open sessions. */
  public GpuNodeServer(GpuNode node, String host, int port) {
    this(node, host, port, null);
  }

  /** @param tls the node's certificate, key and trusted CA; null: plaintext */
  public GpuNodeServer(GpuNode node, String host, int port, TlsContexts tls) {
    this.node = node;
    AtomicInteger n = new AtomicInteger();
    ThreadFactory threads = r -> {
      Thread t = new Thread(r, "spillway-session-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
    this.sessionThreads = Executors.newCachedThreadPool(threads);
    this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-session-timers");
      t.setDaemon(true);
      return t;
    });
    NodeLimits limits = node.options().limits();
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(host, port));
    ServerServiceDefinition sessions = new GpuNodeService(node, sessionThreads, timers).definition();
    if (tls != null) {
      builder.sslContext(tls.server(ClientAuth.REQUIRE));
      String pool = node.options().pool();
      // intercept() runs the last interceptor first: the certificate's, then the policy.
      sessions = ServerInterceptors.intercept(sessions,
          new PeerPolicy("GPU node " + node.options().nodeId(), peer -> gatewayOfPool(pool, peer)),
          new PeerCertificateInterceptor());
    }
    builder
        .directExecutor()
        .addStreamTracerFactory(InboundProgress.FACTORY)
        .maxInboundMessageSize(node.options().maxFrameBytes())
        .maxConcurrentCallsPerConnection(limits.maxStreamsPerConnection())
        .flowControlWindow(16 << 20)
        // Gateways ping every 2 s (GatewayConfig.Transport), with or without calls, to find a hung node fast.
        .permitKeepAliveTime(1, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true);
    if (!limits.keepAliveTime().isZero()) {
      builder.keepAliveTime(limits.keepAliveTime().toMillis(), TimeUnit.MILLISECONDS)
          .keepAliveTimeout(limits.keepAliveTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }
    this.server = builder.addService(sessions).build();
  }

  /**
   * Why {@code peer} may not act as a gateway of {@code pool} (open sessions on, or take registrations
   * from, its nodes), or empty when it may: it must be an edge or center gateway of that pool.
   */
  public static Optional<String> gatewayOfPool(String pool, PeerIdentity peer) {
    if ((peer.role() == Role.EDGE || peer.role() == Role.CENTER) && peer.pool().equals(pool)) {
      return Optional.empty();
    }
    return Optional.of("only an edge or center gateway of pool " + pool + " may use this node");
  }

  public GpuNodeServer start() throws IOException {
    server.start();
    return this;
  }

  /** The port the server listens on (useful when it was started on port 0). */
  public int port() {
    return server.getPort();
  }

  public GpuNode node() {
    return node;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    timers.shutdownNow();
    sessionThreads.shutdownNow();
    node.close();
  }
}
