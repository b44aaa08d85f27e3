package io.spillway.bench;

import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import io.spillway.security.tls.TlsContexts;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * One GPU node ({@code node-1}, one 4 GiB host card) with an edge gateway in front of it, on loopback,
 * registered and ready: the setup the hop benchmarks share. With {@code nodeTls}, the node serves and
 * registers over mutual TLS; the gateway's own TLS comes with {@code config}.
 */
final class OneHop implements AutoCloseable {
  private static final long MIB = 1 << 20;

  private final List<AutoCloseable> parts = new ArrayList<>();
  private final GpuNodeServer server;
  private final GatewayCore edge;

  OneHop(GatewayConfig config, FailoverConfig failover, TlsContexts nodeTls) throws Exception {
    try {
      GpuNode node = new GpuNode(new NodeOptions("node-1", config.pool(), 0, NodeOptions.DEFAULT_CHUNK_BYTES,
          NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 4096 * MIB));
      server = new GpuNodeServer(node, "127.0.0.1", 0, nodeTls).start();
      parts.add(server);
      edge = new GatewayCore(config, Clock.systemUTC(), GatewayListener.NONE).failover(failover).start();
      parts.add(edge);
      parts.add(new GatewayRegistrar(node, edge.address(), nodeAddress(), 500, nodeTls).start());
      while (!edge.ready()) {
        Thread.sleep(10);
      }
    } catch (Exception | Error e) {
      close();
      throw e;
    }
  }

  /** host:port of the node's own server, for sessions that skip the gateway. */
  String nodeAddress() {
    return "127.0.0.1:" + server.port();
  }

  /** host:port of the gateway. */
  String edgeAddress() {
    return edge.address();
  }

  @Override
  public void close() throws Exception {
    for (int i = parts.size() - 1; i >= 0; i--) {
      parts.get(i).close();
    }
    parts.clear();
  }
}
