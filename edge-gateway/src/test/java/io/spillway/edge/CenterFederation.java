package io.spillway.edge;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.spillway.kafka.EmbeddedKafka;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseTopics;
import io.spillway.lease.gateway.CenterGateway;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.gateway.GatewayConfig;
import io.spillway.pool.gateway.GatewayListener;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A center for the edge to spill onto, started before the edge app: an embedded Kafka broker with the
 * lease topics, a {@link CenterGateway} leading the leases, and one center GPU node (host driver, one
 * 32 GiB V100). Sets the edge's {@code spillway.edge.spill.*} keys to point at them.
 */
public class CenterFederation implements QuarkusTestResourceLifecycleManager {

  static final long CENTER_CARD_BYTES = 32L << 30;

  private final List<AutoCloseable> started = new ArrayList<>();

  @Override
  public Map<String, String> start() {
    try {
      EmbeddedKafka kafka = new EmbeddedKafka();
      String bootstrap = kafka.start();
      started.add(kafka);
      LeaseTopics.ensure(bootstrap, (short) 1);
      LeaseConfig leases = LeaseConfig.defaults().withLeaseDuration(Duration.ofSeconds(6))
          .withSkewMargin(Duration.ofSeconds(1)).withDrainDuration(Duration.ofSeconds(1))
          .withSessionTimeout(Duration.ofSeconds(2)).withMaxPollInterval(Duration.ofSeconds(3));
      CenterGateway center = new CenterGateway(GatewayConfig.local("center", "center"), bootstrap, leases,
          Clock.systemUTC(), GatewayListener.NONE).start();
      started.add(center);
      GpuNode node = new GpuNode(new NodeOptions("center-node", "center", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
          NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", CENTER_CARD_BYTES));
      GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
      started.add(server);
      started.add(new GatewayRegistrar(node, center.core().address(), "127.0.0.1:" + server.port(), 200)
          .start());
      await(() -> center.core().registry().node("center-node").map(n -> n.isUp()).orElse(false));
      center.startLeasing("center-1");
      await(() -> center.manager().isLeader());
      return Map.of(
          "spillway.edge.spill.enabled", "true",
          "spillway.edge.spill.kafka-bootstrap", bootstrap,
          "spillway.edge.spill.center", center.core().address(),
          "spillway.edge.spill.lease-duration", "6s",
          "spillway.edge.spill.skew-margin", "1s",
          "spillway.edge.spill.grant-timeout", "10s");
    } catch (Exception e) {
      stop();
      throw new IllegalStateException("center federation did not start", e);
    }
  }

  private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("center federation: timed out");
      }
      Thread.sleep(20);
    }
  }

  @Override
  public void stop() {
    // Reverse order: node, center, then Kafka.
    for (int i = started.size() - 1; i >= 0; i--) {
      try {
        started.get(i).close();
      } catch (Exception e) {
        // keep closing the rest
      }
    }
    started.clear();
  }
}
