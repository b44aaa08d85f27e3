package io.spillway.lease;

import static io.spillway.lease.LeaseTestSupport.node;

import io.spillway.kafka.EmbeddedKafka;
import io.spillway.pool.registry.Node;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Grant latency: request sent → GRANTED seen at the edge client, one request at a time, on an embedded
 * broker. Prints p50/p90/p99/max over {@code args[0]} requests (default 200) after 20 warm-up ones.
 * Not a test: a figure for docs/leases.md.
 */
public final class LeaseLatency {

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    List<Node> center = List.of(node("c1", 8, 80, "H100"));
    LeaseConfig config = LeaseConfig.defaults();
    Duration t = Duration.ofSeconds(30);
    try (EmbeddedKafka kafka = new EmbeddedKafka()) {
      String bootstrap = kafka.start();
      LeaseTopics.ensure(bootstrap, (short) 1);
      try (LeaseManager leader = new LeaseManager(bootstrap, "center-1",
              LeaseTestSupport.placer(center), CenterInventory.of(center), config, Clock.systemUTC());
          LeaseClient edge = new LeaseClient(bootstrap, "edge-a", config, Clock.systemUTC())) {
        leader.start();
        edge.start(t);
        LeaseTestSupport.await(t, leader::isLeader, "leader");
        LeaseSlice slice = LeaseSlice.newBuilder().setGpuCount(1)
            .setMemoryBytes(LeaseTestSupport.GIB).build();
        long[] micros = new long[n];
        for (int i = -20; i < n; i++) {
          long start = System.nanoTime();
          Lease lease = edge.request(slice, t).get(30, TimeUnit.SECONDS);
          long took = (System.nanoTime() - start) / 1000;
          if (lease.getState() != LeaseState.GRANTED) {
            throw new IllegalStateException("not granted: " + lease.getReason());
          }
          edge.release(lease, t).get(30, TimeUnit.SECONDS);
          if (i >= 0) {
            micros[i] = took;
          }
        }
        Arrays.sort(micros);
        System.out.printf("grant latency over %d requests: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms,"
                + " max %.2f ms%n", n, micros[n / 2] / 1000.0, micros[n * 90 / 100] / 1000.0,
            micros[n * 99 / 100] / 1000.0, micros[n - 1] / 1000.0);
      }
    }
  }
}
