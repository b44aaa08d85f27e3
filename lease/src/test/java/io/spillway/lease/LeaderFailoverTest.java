package io.spillway.lease;

import static io.spillway.lease.LeaseTestSupport.node;
import static io.spillway.lease.LeaseTestSupport.slice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.lease.internal.LogReader;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.registry.Node;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.testkit.Await;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two center replicas: the leader killed under load, then a leader paused until deposed (a zombie)
 * that tries to commit afterwards. Each test has a broker of its own, so that the log the checker
 * replays whole, and the counts it reports, are that test's alone, whichever runs first.
 */
class LeaderFailoverTest {

  private static final List<Node> CENTER = List.of(node("c1", 4, 16, "A100"));
  private static final CenterInventory INVENTORY = CenterInventory.of(CENTER);
  private static final Duration T = Duration.ofSeconds(20);
  private TestBroker kafka;
  private String bootstrap;

  @BeforeEach
  void startKafka() {
    kafka = TestBroker.create();
    bootstrap = kafka.start();
    LeaseTopics.ensure(bootstrap, (short) 1);
  }

  @AfterEach
  void stopKafka() {
    kafka.stop();
  }

  private LeaseManager manager(String id, SlicePlacer placer) {
    return new LeaseManager(bootstrap, id, placer, INVENTORY, LeaseTestSupport.fastConfig(),
        Clock.systemUTC());
  }

  /** Starts two managers and waits until exactly one leads and the group is settled. */
  private List<LeaseManager> pair(String a, String b, List<SlicePlacer> placers) {
    LeaseManager m1 = manager(a, placers.get(0));
    LeaseManager m2 = manager(b, placers.get(1));
    m1.start();
    Await.until(T, a + " leads", m1::isLeader);
    m2.start();
    // m2 joining makes m1 give the inputs up and the group assign them again to one of the two.
    Await.until(T, "one of " + a + ", " + b + " leads", () -> (m1.isLeader() ^ m2.isLeader()));
    try {
      Thread.sleep(500);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    Await.until(T, "still one leader", () -> (m1.isLeader() ^ m2.isLeader()));
    return List.of(m1, m2);
  }

  @Test
  void leaderKilledUnderLoadLosesNoRequestAndGrantsNothingTwice() throws Exception {
    List<SlicePlacer> placers = List.of(LeaseTestSupport.placer(CENTER),
        LeaseTestSupport.placer(CENTER));
    List<LeaseManager> managers = pair("center-1", "center-2", placers);
    LeaseManager leader = managers.get(0).isLeader() ? managers.get(0) : managers.get(1);
    LeaseManager standby = leader == managers.get(0) ? managers.get(1) : managers.get(0);
    SlicePlacer standbyPlacer = placers.get(managers.indexOf(standby));
    try (LeaseClient edge = new LeaseClient(bootstrap, "edge-a", LeaseTestSupport.fastConfig(),
        Clock.systemUTC())) {
      edge.start(T);
      // 4 cards x 15 GiB usable, 1 GiB / 5% each: 60 fit; 80 asked, so both answers occur.
      List<CompletableFuture<Lease>> answers = new ArrayList<>();
      long killedAt = 0;
      for (int i = 0; i < 80; i++) {
        answers.add(edge.request(slice(1, 5), Duration.ofSeconds(40)));
        if (i == 30) {
          leader.kill();
          killedAt = System.nanoTime();
        }
        Thread.sleep(10);
      }
      assertEquals(LeaseManager.Role.CLOSED, leader.role());
      Await.until(Duration.ofSeconds(10), standby.memberId() + " takes over in 10 s", standby::isLeader);
      long takeoverMillis = (System.nanoTime() - killedAt) / 1_000_000;
      assertTrue(takeoverMillis < 10_000, "takeover took " + takeoverMillis + " ms");

      Map<String, Lease> byRequest = new HashMap<>();
      for (CompletableFuture<Lease> f : answers) {
        Lease lease = f.get(40, TimeUnit.SECONDS);
        assertTrue(lease.getState() == LeaseState.GRANTED || lease.getState() == LeaseState.REFUSED,
            lease.toString());
        assertEquals(null, byRequest.put(lease.getRequestId(), lease));
      }
      long granted = byRequest.values().stream()
          .filter(l -> l.getState() == LeaseState.GRANTED).count();
      assertEquals(60, granted, "the pool holds exactly 60 such slices");
      assertEquals(20, 80 - granted);
      Set<String> grantors = new HashSet<>();
      byRequest.values().forEach(l -> grantors.add(l.getGrantedBy()));
      assertTrue(grantors.contains(standby.memberId()), "the new leader answered some: " + grantors);

      // No lease lost: the new leader holds every grant, on its own placer too.
      assertEquals(60, standby.liveLeases().size());
      assertEquals(60, standbyPlacer.snapshot().sessions().size());
      assertEquals(60, edge.liveLeases().size());

      // Every request answered exactly once in the log (epoch 1 record), none granted twice.
      Map<String, Integer> firstRecords = new HashMap<>();
      LogReader.readAll(bootstrap, "test", T, (offset, key, lease) -> {
        if (lease.getEpoch() == 1) {
          firstRecords.merge(lease.getRequestId(), 1, Integer::sum);
        }
      });
      assertEquals(80, firstRecords.size());
      assertTrue(firstRecords.values().stream().allMatch(n -> n == 1), firstRecords.toString());
      LeaseLogChecker.Report report = new LeaseLogChecker(bootstrap, INVENTORY).check(T);
      assertTrue(report.ok(), report.violations().toString());
      assertEquals(80, report.leases());
      assertEquals(60, report.grants());

      // Leave the pool empty for the next test.
      for (Lease lease : edge.liveLeases().values()) {
        assertEquals(LeaseState.RELEASED, edge.release(lease, T).get(20, TimeUnit.SECONDS)
            .getState());
      }
    } finally {
      standby.close();
    }
  }

  @Test
  void zombieLeaderIsFencedAndItsGrantNeverCommits() throws Exception {
    List<SlicePlacer> placers = List.of(LeaseTestSupport.placer(CENTER),
        LeaseTestSupport.placer(CENTER));
    List<LeaseManager> managers = pair("center-3", "center-4", placers);
    LeaseManager zombie = managers.get(0).isLeader() ? managers.get(0) : managers.get(1);
    LeaseManager next = zombie == managers.get(0) ? managers.get(1) : managers.get(0);
    SlicePlacer zombiePlacer = placers.get(managers.indexOf(zombie));
    try (LeaseClient edge = new LeaseClient(bootstrap, "edge-z", LeaseTestSupport.fastConfig(),
        Clock.systemUTC())) {
      edge.start(T);
      Lease before = edge.request(slice(2, 10), T).get(20, TimeUnit.SECONDS);
      assertEquals(LeaseState.GRANTED, before.getState());
      assertEquals(zombie.memberId(), before.getGrantedBy());

      // Pause the leader between sending a grant and committing it, longer than max.poll.interval.
      CountDownLatch paused = new CountDownLatch(1);
      CountDownLatch resume = new CountDownLatch(1);
      AtomicBoolean armed = new AtomicBoolean(true);
      zombie.beforeCommit(() -> {
        if (armed.getAndSet(false)) {
          paused.countDown();
          try {
            resume.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
      CompletableFuture<Lease> during = edge.request(slice(3, 10), Duration.ofSeconds(30));
      assertTrue(paused.await(10, TimeUnit.SECONDS), "the leader reached its commit");
      assertTrue(zombie.isLeader(), "paused, it still believes it leads");
      Await.until(Duration.ofSeconds(15), next.memberId() + " takes over", next::isLeader);

      // The request the zombie was granting is answered once, by the new leader.
      Lease answer = during.get(20, TimeUnit.SECONDS);
      assertEquals(LeaseState.GRANTED, answer.getState());
      assertEquals(next.memberId(), answer.getGrantedBy());

      // The zombie wakes up and commits: fenced, it stops and drops its state.
      resume.countDown();
      Await.until(Duration.ofSeconds(10), "zombie fenced, role now " + zombie.role(),
          () -> zombie.role() == LeaseManager.Role.FENCED);
      assertTrue(zombie.failure().isPresent());
      assertTrue(zombie.liveLeases().isEmpty());
      assertTrue(zombiePlacer.snapshot().sessions().isEmpty(), "zombie released its leases");

      // The new leader still grants, and knows the lease granted before the takeover.
      Lease after = edge.request(slice(1, 10), T).get(20, TimeUnit.SECONDS);
      assertEquals(next.memberId(), after.getGrantedBy());
      assertTrue(next.liveLeases().containsKey(before.getLeaseId()));

      // In the log, nothing from the zombie after the new leader's first record.
      List<String> writers = new ArrayList<>();
      Map<String, Integer> answersToDuring = new HashMap<>();
      LogReader.readAll(bootstrap, "test", T, (offset, key, lease) -> {
        writers.add(lease.getGrantedBy());
        if (lease.getRequestId().equals(answer.getRequestId()) && lease.getEpoch() == 1) {
          answersToDuring.merge(lease.getGrantedBy(), 1, Integer::sum);
        }
      });
      int firstOfNext = writers.indexOf(next.memberId());
      int lastOfZombie = writers.lastIndexOf(zombie.memberId());
      assertNotEquals(-1, firstOfNext);
      assertTrue(lastOfZombie < firstOfNext, "zombie wrote at record " + lastOfZombie
          + " after the new leader's first at " + firstOfNext + ": " + writers);
      assertEquals(Map.of(next.memberId(), 1), answersToDuring);
      LeaseLogChecker.Report report = new LeaseLogChecker(bootstrap, INVENTORY).check(T);
      assertTrue(report.ok(), report.violations().toString());
      assertFalse(zombie.isLeader());
    } finally {
      zombie.close();
      next.close();
    }
  }
}
