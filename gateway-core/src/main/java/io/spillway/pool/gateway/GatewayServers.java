package io.spillway.pool.gateway;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerStreamTracer;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.registry.Node;
import io.spillway.pool.registry.NodeRegistry;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.PeerCertificateInterceptor;
import io.spillway.security.tls.TlsContexts;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * A gateway's network: one Netty event loop group shared by its gRPC server and every upstream channel
 * (so a frame arriving on a loop that also owns the onward connection is written on without a thread
 * hand-off), the server with its transport settings and interceptors, one channel per upstream address,
 * and, with TLS, the check of whom an upstream connection reaches.
 *
 * <p>Thread-safe: {@link #channelTo} is called from the sessions' executors; the rest by the
 * {@link GatewayCore} that owns it, at start and close.
 */
final class GatewayServers {
  /** Largest frame accepted from a client or an upstream: a 64 MiB payload and room for its ops. */
  private static final int MAX_FRAME_BYTES = (64 << 20) + (1 << 20);
  /** Event loop threads shared by client and node connections. */
  private static final int IO_THREADS = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);

  private final GatewayConfig config;
  private final NodeRegistry registry;
  private final EventLoopGroup eventLoops;
  private final Class<? extends Channel> channelType;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Server server;
  /** The gateway's TLS material, followed as it rotates; null in plaintext. */
  private final TlsContexts tls;
  /** The client side of {@link #tls}, for every connection to a node or a center; null in plaintext. */
  private final SslContext upstreamTls;

  /**
   * @param services served behind {@code interceptors} (the first runs first); with
   *     {@link GatewayConfig#tls()}, the TLS interceptor that sets the caller's peer runs before them
   * @param tracers stream tracers of every server stream
   * @param registry the nodes an upstream address may belong to (checked in TLS handshakes)
   */
  GatewayServers(GatewayConfig config, NodeRegistry registry, List<ServerServiceDefinition> services,
      List<ServerInterceptor> interceptors, List<ServerStreamTracer.Factory> tracers) {
    this.config = config;
    this.registry = registry;
    boolean epoll = Epoll.isAvailable();
    ThreadFactory loopThreads = r -> {
      Thread t = new Thread(r, "spillway-gateway-io-" + config.name());
      t.setDaemon(true);
      return t;
    };
    this.eventLoops = epoll ? new EpollEventLoopGroup(IO_THREADS, loopThreads)
        : new NioEventLoopGroup(IO_THREADS, loopThreads);
    this.channelType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    List<ServerInterceptor> chain = new ArrayList<>();
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.grpcPort()));
    if (config.tls().isPresent()) {
      GatewayConfig.Tls t = config.tls().get();
      this.tls = TlsContexts.of(t.files());
      this.upstreamTls = tls.client(this::refuseUpstream);
      builder.sslContext(tls.server(t.requireClientCertificates() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL));
      chain.add(new PeerCertificateInterceptor());
    } else {
      this.tls = null;
      this.upstreamTls = null;
    }
    chain.addAll(interceptors);
    builder
        .bossEventLoopGroup(eventLoops)
        .workerEventLoopGroup(eventLoops)
        .channelType(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .directExecutor();
    tracers.forEach(builder::addStreamTracerFactory);
    builder
        .maxInboundMessageSize(MAX_FRAME_BYTES)
        .flowControlWindow(config.transport().flowControlWindowBytes())
        .permitKeepAliveTime(1, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .maxConcurrentCallsPerConnection(config.limits().maxStreamsPerConnection())
        .keepAliveTime(keepAliveOrNever(config.limits().keepAliveTime()), TimeUnit.NANOSECONDS)
        .keepAliveTimeout(config.limits().keepAliveTimeout().toNanos(), TimeUnit.NANOSECONDS);
    for (ServerServiceDefinition service : services) {
      builder.addService(ServerInterceptors.intercept(service, reversed(chain)));
    }
    this.server = builder.build();
  }

  /** Zero means never: grpc's own "never" is {@code Long.MAX_VALUE}. */
  private static long keepAliveOrNever(Duration d) {
    return d.isZero() ? Long.MAX_VALUE : d.toNanos();
  }

  /** {@link ServerInterceptors#intercept} runs the last one first; callers list them in the order they run. */
  private static List<ServerInterceptor> reversed(List<ServerInterceptor> inOrder) {
    List<ServerInterceptor> out = new ArrayList<>(inOrder);
    Collections.reverse(out);
    return out;
  }

  Server server() {
    return server;
  }

  /** The upstream channels by address, as they are now (the upstream probe walks them). */
  Map<String, ManagedChannel> channels() {
    return channels;
  }

  /** The gateway's TLS material; null in plaintext. */
  TlsContexts tls() {
    return tls;
  }

  /** One channel per node address, shared by all sessions on that node. */
  ManagedChannel channelTo(String address) {
    GatewayConfig.Transport t = config.transport();
    return channels.computeIfAbsent(address, a -> secured(NettyChannelBuilder.forTarget(a))
        .eventLoopGroup(eventLoops)
        .channelType(channelType)
        .directExecutor()
        .flowControlWindow(t.flowControlWindowBytes())
        .maxInboundMessageSize(MAX_FRAME_BYTES)
        .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) t.connectTimeout().toMillis())
        .keepAliveTime(t.keepAliveTime().toNanos(), TimeUnit.NANOSECONDS)
        .keepAliveTimeout(t.keepAliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
        .keepAliveWithoutCalls(false)
        .build());
  }

  private NettyChannelBuilder secured(NettyChannelBuilder b) {
    return upstreamTls == null ? b.usePlaintext() : b.sslContext(upstreamTls);
  }

  /**
   * Whom a connection to an upstream may reach, checked in its handshake: at the address of registered
   * nodes, one of those nodes of this gateway's pool; anywhere else (a center replica an edge spills to),
   * a center gateway. So a session is never sent to a server that merely holds a certificate of the CA.
   */
  private Optional<String> refuseUpstream(String host, int port, Optional<PeerIdentity> peer) {
    String address = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    List<String> nodesThere = registry.nodes().stream()
        .filter(n -> n.address().equals(address) || n.address().equals(host + ":" + port))
        .map(Node::id).toList();
    if (!nodesThere.isEmpty()) {
      boolean ok = peer.filter(p -> p.role() == Role.NODE && p.pool().equals(config.pool())
          && nodesThere.contains(p.name())).isPresent();
      return ok ? Optional.empty() : Optional.of("expected node " + String.join(" or ", nodesThere) + " of pool "
          + config.pool() + " (registered at " + address + "), the certificate names "
          + peer.map(PeerIdentity::toString).orElse("no component"));
    }
    return peer.filter(p -> p.role() == Role.CENTER).isPresent() ? Optional.empty()
        : Optional.of("no node of pool " + config.pool() + " is registered at " + address
            + ", so only a center gateway may answer there; the certificate names "
            + peer.map(PeerIdentity::toString).orElse("no component"));
  }

  /** Stops accepting calls and breaks the ones open (the sessions on them are ended by their owner). */
  void stopServing() {
    server.shutdownNow();
  }

  /**
   * Closes every upstream channel, waits (a few seconds at most) for the server and the channels to
   * terminate, then stops the event loops. After {@link #stopServing}.
   */
  void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
      for (ManagedChannel c : channels.values()) {
        c.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    eventLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
