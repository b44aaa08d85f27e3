package io.spillway.node.server;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeLimits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Serves a {@link GpuNode} over gRPC on Netty. */
public final class GpuNodeServer implements AutoCloseable {

  private final GpuNode node;
  private final Server server;
  private final ExecutorService sessionThreads;
  private final ScheduledExecutorService timers;

  public GpuNodeServer(GpuNode node, String host, int port) {
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
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .directExecutor()
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
    this.server = builder.addService(new GpuNodeService(node, sessionThreads, timers).definition()).build();
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
