package io.spillway.pool.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RebuilderTest {
  private final List<Long> delays = new ArrayList<>();
  private final List<Runnable> tasks = new ArrayList<>();
  private long nanos = 1_000;
  private final Rebuilder rebuilder = new Rebuilder((task, delay) -> {
    delays.add(delay);
    tasks.add(task);
  }, () -> nanos, Duration.ofSeconds(30), Duration.ofMillis(50), Duration.ofSeconds(2));

  @Test
  void theFirstAttemptRunsAtOnceAndRetriesBackOffUpToTheMax() {
    assertNull(rebuilder.lastLoss());
    rebuilder.lost(Status.UNAVAILABLE.withDescription("node n1 is down"));
    for (int i = 0; i < 9; i++) {
      rebuilder.scheduleAttempt(() -> { });
    }
    assertEquals(List.of(0L, 100L, 200L, 400L, 800L, 1600L, 2000L, 2000L, 2000L), delays);
    assertEquals(9, rebuilder.attempts());
    rebuilder.rebuilt();
    rebuilder.scheduleAttempt(() -> { });
    assertEquals(0L, delays.get(delays.size() - 1), "a new loss starts again at once");
  }

  @Test
  void theDeadlineCountsFromTheFirstLossNotTheLatest() {
    rebuilder.lost(Status.UNAVAILABLE.withDescription("node n1 is down"));
    nanos += Duration.ofSeconds(20).toNanos();
    rebuilder.lost(Status.UNAVAILABLE.withDescription("node n2 refused it"));
    nanos += Duration.ofSeconds(10).toNanos();
    assertFalse(rebuilder.pastDeadline());
    nanos += 1;
    assertTrue(rebuilder.pastDeadline());
    assertEquals("node n2 refused it", rebuilder.lastLoss().getDescription());
  }

  @Test
  void failedAttemptsSayWhatHappenedAndARebuildReportsTheGap() {
    rebuilder.lost(Status.UNAVAILABLE.withDescription("node n1 is down"));
    rebuilder.attemptFailed(Status.UNAVAILABLE.withDescription("no GPU free"));
    assertEquals("node n1 is down (then: no GPU free)", rebuilder.lastLoss().getDescription());
    nanos += 5_000;
    assertEquals(5_000, rebuilder.rebuilt());
    assertEquals(0, rebuilder.attempts());
  }

  @Test
  void aMoveRestartsTheClock() {
    rebuilder.lost(Status.UNAVAILABLE.withDescription("lost"));
    nanos += Duration.ofSeconds(29).toNanos();
    rebuilder.moving(Status.OK.withDescription("local capacity returned"));
    nanos += Duration.ofSeconds(29).toNanos();
    assertFalse(rebuilder.pastDeadline());
  }
}
