package io.spillway.lease;

import static io.spillway.lease.LeaseTestSupport.GIB;
import static io.spillway.lease.LeaseTestSupport.node;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.registry.Node;
import io.spillway.pool.time.ManualClock;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseGrantSlice;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.testkit.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Seeded random requests, renewals and releases from three edges, with the clock jumping so leases
 * expire along the way; then the whole log is replayed by the checker.
 */
class LeaseRandomizedTest {

  private static final long SEED = 20250101L;
  private static final TestBroker kafka = TestBroker.create();
  private static String bootstrap;

  @BeforeAll
  static void startKafka() {
    bootstrap = kafka.start();
    LeaseTopics.ensure(bootstrap, (short) 1);
  }

  @AfterAll
  static void stopKafka() {
    kafka.stop();
  }

  @Test
  void randomTrafficFromThreeEdgesKeepsTheInvariant() throws Exception {
    Random random = new Random(SEED);
    List<Node> center = List.of(node("c1", 2, 16, "A100"), node("c2", 2, 16, "V100"));
    CenterInventory inventory = CenterInventory.of(center);
    SlicePlacer placer = LeaseTestSupport.placer(center);
    ManualClock clock = ManualClock.atEpochOf2025();
    LeaseConfig config = LeaseTestSupport.fastConfig().withSkewMargin(Duration.ofSeconds(1))
        .withLeaseDuration(Duration.ofSeconds(5));
    Duration t = Duration.ofSeconds(15);
    List<LeaseClient> edges = new ArrayList<>();
    try (LeaseManager leader = new LeaseManager(bootstrap, "center-1", placer, inventory, config,
        clock)) {
      leader.start();
      for (String name : List.of("edge-a", "edge-b", "edge-c")) {
        LeaseClient edge = new LeaseClient(bootstrap, name, config, clock);
        edge.start(t);
        edges.add(edge);
      }
      Await.until(t, "leader", leader::isLeader);
      Map<String, Integer> outcomes = new HashMap<>();
      for (int batch = 0; batch < 25; batch++) {
        List<CompletableFuture<Lease>> pending = new ArrayList<>();
        List<String> kinds = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          LeaseClient edge = edges.get(random.nextInt(edges.size()));
          List<Lease> live = edge.liveLeases().values().stream()
              .filter(l -> l.getState() == LeaseState.GRANTED).toList();
          int op = random.nextInt(10);
          if (op < 5 || live.isEmpty()) {
            LeaseSlice.Builder s = LeaseSlice.newBuilder()
                .setGpuCount(1 + (random.nextInt(5) == 0 ? 1 : 0))
                .setMemoryBytes((1 + random.nextInt(8)) * GIB)
                .setComputePercent(random.nextInt(6) * 10);
            if (random.nextInt(3) == 0) {
              s.addModels(random.nextBoolean() ? "A100" : "V100");
            }
            pending.add(edge.request(s.build(), t));
            kinds.add("request");
          } else if (op < 8) {
            pending.add(edge.renew(live.get(random.nextInt(live.size())), t));
            kinds.add("renew");
          } else {
            pending.add(edge.release(live.get(random.nextInt(live.size())), t));
            kinds.add("release");
          }
        }
        for (int i = 0; i < pending.size(); i++) {
          Lease answer = pending.get(i).get(20, TimeUnit.SECONDS);
          outcomes.merge(kinds.get(i) + "->" + answer.getState(), 1, Integer::sum);
        }
        clock.advance(Duration.ofMillis(random.nextInt(2000)));
        long now = clock.millis();
        Await.until(t, "leader expired what is due", () -> leader.liveLeases().values().stream()
            .allMatch(l -> l.getDeadlineMillis() > now));
      }

      // Views agree: the edges' live leases are the leader's; the placer holds what the leases hold.
      Await.until(t, "edges caught up with the leader", () -> {
        TreeSet<String> atEdges = new TreeSet<>();
        edges.forEach(e -> atEdges.addAll(e.liveLeases().keySet()));
        return atEdges.equals(new TreeSet<>(leader.liveLeases().keySet()));
      });
      Map<String, Long> leasedMemory = new HashMap<>();
      for (Lease l : leader.liveLeases().values()) {
        for (LeaseGrantSlice s : l.getSlicesList()) {
          leasedMemory.merge(s.getGpuUuid(), s.getMemoryBytes(), Long::sum);
        }
      }
      for (GpuView gpu : placer.snapshot().gpus()) {
        assertEquals(leasedMemory.getOrDefault(gpu.uuid(), 0L), gpu.memoryAllocatedBytes(),
            "placer and leases agree on " + gpu.uuid());
      }

      LeaseLogChecker.Report report = new LeaseLogChecker(bootstrap, inventory).check(t);
      assertTrue(report.ok(), report.violations().toString());
      String summary = "outcomes " + outcomes + ", report " + report;
      assertTrue(outcomes.getOrDefault("request->GRANTED", 0) >= 10, summary);
      assertTrue(outcomes.getOrDefault("request->REFUSED", 0) >= 1, summary);
      assertTrue(outcomes.getOrDefault("renew->GRANTED", 0) >= 1, summary);
      assertTrue(outcomes.getOrDefault("release->RELEASED", 0) >= 1, summary);
      assertTrue(report.recordsChecked() > report.leases(), summary);
      assertEquals(outcomes.getOrDefault("request->GRANTED", 0), (int) report.grants(), summary);
      System.out.println("randomized lease run, seed " + SEED + ": " + summary);
    } finally {
      edges.forEach(LeaseClient::close);
    }
  }
}
