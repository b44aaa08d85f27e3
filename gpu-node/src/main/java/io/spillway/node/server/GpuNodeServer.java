package io.spillway.node.server;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.spillway.node.GpuNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Serves a {@link GpuNode} over gRPC on Netty. */
public final class GpuNodeServer implements AutoCloseable {

  private final GpuNode node;
  private final Server server;
  private final ExecutorService sessionThreads;

  public GpuNodeServer(GpuNode node, String host, int port) {
    this.node = node;
    AtomicInteger n = new AtomicInteger();
    ThreadFactory threads = r -> {
      Thread t = new Thread(r, "spillway-session-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
    this.sessionThreads = Executors.newCachedThreadPool(threads);
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .directExecutor()
        .maxInboundMessageSize(node.options().maxFrameBytes())
        .flowControlWindow(16 << 20)
        .permitKeepAliveTime(1, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .addService(new GpuNodeService(node, sessionThreads).definition())
        .build();
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
    sessionThreads.shutdownNow();
    node.close();
  }
}
