package io.spillway.bench;

import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.federation.CenterGateway;
import io.spillway.federation.LeaseSpill;
import io.spillway.kafka.EmbeddedKafka;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseTopics;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Leases over a real Kafka broker (embedded KRaft): grant latency (request sent until the grant is seen
 * at the edge), and the open of a spilled session (edge -> lease -> center -> node) against a local one.
 *
 * <p>Usage: {@code java -cp bench/target/spillway-bench.jar io.spillway.bench.SpillBench [--quick]}.
 */
public final class SpillBench {

  private static final long GIB = 1L << 30;

  public static void main(String[] args) throws Exception {
    boolean quick = Arrays.asList(args).contains("--quick");
    int grants = quick ? 50 : 300;
    int opens = quick ? 20 : 100;
    Figures figures = new Figures();
    List<AutoCloseable> closing = new ArrayList<>();
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    try (EmbeddedKafka kafka = new EmbeddedKafka()) {
      String bootstrap = kafka.start();
      LeaseTopics.ensure(bootstrap, (short) 1);
      LeaseConfig leases = LeaseConfig.defaults();
      CenterGateway center = new CenterGateway(GatewayConfig.local("center", "center"), bootstrap, leases,
          Clock.systemUTC(), GatewayListener.NONE).start();
      closing.add(center);
      node(center.core(), "center-node", "center", 8, closing);
      center.startLeasing("center-1");
      while (!center.manager().isLeader()) {
        Thread.sleep(20);
      }

      // Grant latency, measured by a lease client of its own.
      try (LeaseClient edgeA = new LeaseClient(bootstrap, "bench-edge", leases, Clock.systemUTC())) {
        edgeA.start(Duration.ofSeconds(30));
        Histogram grant = Figures.histogram();
        LeaseSlice slice = LeaseSlice.newBuilder().setGpuCount(1).setMemoryBytes(GIB).build();
        for (int i = 0; i < grants + grants / 10; i++) {
          long t0 = System.nanoTime();
          Lease lease = edgeA.request(slice, Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
          long took = System.nanoTime() - t0;
          if (lease.getState() != LeaseState.GRANTED) {
            throw new IllegalStateException("lease refused: " + lease.getReason());
          }
          if (i >= grants / 10) {
            grant.recordValue(took);
          }
          edgeA.release(lease, Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
        }
        figures.add("lease grant, request sent -> grant seen at the edge, p50",
            Figures.micros(grant.getValueAtPercentile(50)), "-", "-");
        figures.add("lease grant, p99", Figures.micros(grant.getValueAtPercentile(99)), "-", "-");
      }

      // Spilled open against a local one, through the same edge gateway.
      GatewayCore edge = new GatewayCore(GatewayConfig.local("edge", "edge/bench"), Clock.systemUTC(),
          GatewayListener.NONE);
      closing.add(edge);
      LeaseClient edgeLeases = new LeaseClient(bootstrap, "edge", leases, Clock.systemUTC());
      closing.add(edgeLeases);
      edgeLeases.start(Duration.ofSeconds(30));
      edge.spillTo(new LeaseSpill(edgeLeases, center.core().address(), LeaseSpill.Mode.WHEN_FULL, 90,
          leases.leaseDuration(), Duration.ofSeconds(10), timer)).start();
      node(edge, "edge-node", "edge/bench", 1, closing);
      try (SpillwayClient client = SpillwayClient.connect(edge.address())) {
        SliceRequest small = SliceRequest.builder().tenant("bench").memoryBytes(GIB).build();
        Histogram local = opens(client, small, opens);
        try (GpuSession filler = client.open(SliceRequest.builder().tenant("bench").memoryBytes(32 * GIB).build())) {
          Histogram spilled = opens(client, small, opens);
          figures.add("session open + close, local, p50", Figures.micros(local.getValueAtPercentile(50)), "-", "-");
          figures.add("session open + close, spilled to the center, p50",
              Figures.micros(spilled.getValueAtPercentile(50)), Figures.micros(local.getValueAtPercentile(50))
                  + " (local)", spilled.getValueAtPercentile(50) / (double) local.getValueAtPercentile(50));
          figures.add("session open + close, spilled, p99", Figures.micros(spilled.getValueAtPercentile(99)),
              Figures.micros(local.getValueAtPercentile(99)) + " (local)",
              spilled.getValueAtPercentile(99) / (double) local.getValueAtPercentile(99));
        }
      }
      for (int i = closing.size() - 1; i >= 0; i--) {
        closing.get(i).close();
      }
    } finally {
      timer.shutdownNow();
    }
    figures.print(String.format(Locale.ROOT, "Leases over an embedded KRaft broker (%d grants, %d opens)",
        grants, opens), "baseline");
  }

  private static Histogram opens(SpillwayClient client, SliceRequest slice, int count) {
    Histogram h = Figures.histogram();
    for (int i = 0; i < count + count / 5; i++) {
      long t0 = System.nanoTime();
      GpuSession s = client.open(slice);
      s.close();
      if (i >= count / 5) {
        h.recordValue(System.nanoTime() - t0);
      }
    }
    return h;
  }

  private static void node(GatewayCore gateway, String id, String pool, int cards, List<AutoCloseable> closing)
      throws Exception {
    GpuNode node = new GpuNode(new NodeOptions(id, pool, 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(cards, "V100", 32 * GIB));
    GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    closing.add(server);
    closing.add(new GatewayRegistrar(node, gateway.address(), "127.0.0.1:" + server.port(), 500).start());
    while (gateway.registry().node(id).map(n -> !n.isUp()).orElse(true)) {
      Thread.sleep(10);
    }
  }
}
