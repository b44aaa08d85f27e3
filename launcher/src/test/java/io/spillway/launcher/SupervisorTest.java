package io.spillway.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;

/** The supervisor's rules, on a fake clock: backoff, crash loops, failed starts, shutdown. */
class SupervisorTest {

  /** Runs tasks inline; scheduled ones when {@link #advance} passes their time. */
  static final class FakeScheduler implements Supervisor.Scheduler {
    private record Timed(Instant at, long order, Runnable task) {}

    private final PriorityQueue<Timed> timers = new PriorityQueue<>(
        (a, b) -> a.at().equals(b.at()) ? Long.compare(a.order(), b.order()) : a.at().compareTo(b.at()));
    private Instant now = Instant.parse("2026-12-01T12:00:00Z");
    private long order;

    @Override
    public Instant now() {
      return now;
    }

    @Override
    public void execute(Runnable task) {
      task.run();
    }

    @Override
    public void schedule(Duration delay, Runnable task) {
      timers.add(new Timed(now.plus(delay), order++, task));
    }

    void advance(Duration d) {
      Instant until = now.plus(d);
      while (!timers.isEmpty() && !timers.peek().at().isAfter(until)) {
        Timed t = timers.poll();
        now = t.at();
        t.task().run();
      }
      now = now.isAfter(until) ? now : until;
    }
  }

  /** Components that exit when told, and start again (or fail to) when the supervisor asks. */
  static final class FakeTarget implements Supervisor.Target {
    final Map<String, IntConsumer> watchers = new HashMap<>();
    final List<String> restarts = new ArrayList<>();
    final FakeScheduler clock;
    int failNextStarts;
    Duration startTakes = Duration.ofMillis(500);

    FakeTarget(FakeScheduler clock) {
      this.clock = clock;
    }

    @Override
    public void watch(String name, IntConsumer onExit) {
      watchers.put(name, onExit);
    }

    @Override
    public void restart(String name) throws Exception {
      restarts.add(name);
      clock.now = clock.now.plus(startTakes);
      if (failNextStarts > 0) {
        failNextStarts--;
        throw new IllegalStateException(name + " exited with code 1 before it was ready");
      }
    }

    void exit(String name, int code) {
      watchers.remove(name).accept(code);
    }
  }

  static final class Recorded implements Supervisor.Events {
    final List<String> lines = new ArrayList<>();

    @Override
    public void exited(String name, String reason, Duration restartIn) {
      lines.add("exited " + name + ": " + reason + ", again in " + restartIn.toMillis() + " ms");
    }

    @Override
    public void restarted(String name, int restartsInWindow, Duration took) {
      lines.add("restarted " + name + " #" + restartsInWindow + " in " + took.toMillis() + " ms");
    }

    @Override
    public void restartFailed(String name, String why, Duration restartIn) {
      lines.add("failed " + name + ": " + why + ", again in " + restartIn.toMillis() + " ms");
    }

    @Override
    public void leftDown(String name, String reason, int restarts, Duration window) {
      lines.add("down " + name + ": " + reason + " after " + restarts + " restarts in " + window.toSeconds() + " s");
    }
  }

  private final FakeScheduler clock = new FakeScheduler();
  private final FakeTarget target = new FakeTarget(clock);
  private final Recorded events = new Recorded();
  private final Supervisor supervisor = new Supervisor(target, events, clock,
      new Supervisor.Policy(Duration.ofSeconds(1), Duration.ofSeconds(8), 5, Duration.ofMinutes(2)));

  @Test
  void aKilledComponentIsStartedAgainAfterTheBackoffWithItsReason() {
    supervisor.supervise(List.of("kafka", "edge-a"));
    target.exit("edge-a", 137);
    assertEquals(List.of("exited edge-a: killed by SIGKILL (exit code 137), again in 1000 ms"), events.lines);
    assertEquals(Supervisor.State.BACKOFF, supervisor.state("edge-a"));
    clock.advance(Duration.ofMillis(999));
    assertTrue(target.restarts.isEmpty(), "restarted before the backoff ended");
    clock.advance(Duration.ofMillis(1));
    assertEquals(List.of("edge-a"), target.restarts);
    assertEquals(Supervisor.State.RUNNING, supervisor.state("edge-a"));
    assertEquals("restarted edge-a #1 in 500 ms", events.lines.get(1));
    assertEquals(Supervisor.State.RUNNING, supervisor.state("kafka"));
    assertTrue(target.watchers.containsKey("edge-a"), "the new process is watched");
  }

  @Test
  void backoffDoublesAndACrashLoopIsLeftDown() {
    supervisor.supervise(List.of("edge-a"));
    for (int i = 0; i < 5; i++) {
      target.exit("edge-a", 1);
      clock.advance(Duration.ofSeconds(10));
    }
    assertEquals(5, target.restarts.size());
    List<String> waits = events.lines.stream().filter(l -> l.startsWith("exited")).map(l -> l.replaceAll(".* in ", ""))
        .toList();
    assertEquals(List.of("1000 ms", "2000 ms", "4000 ms", "8000 ms", "8000 ms"), waits, "doubling, capped at 8 s");
    target.exit("edge-a", 1);
    assertEquals(Supervisor.State.DOWN, supervisor.state("edge-a"));
    assertEquals("down edge-a: exit code 1 after 5 restarts in 120 s", events.lines.get(events.lines.size() - 1));
    clock.advance(Duration.ofMinutes(10));
    assertEquals(5, target.restarts.size(), "a component left down is not started again");
  }

  @Test
  void restartsOutsideTheWindowNoLongerCount() {
    supervisor.supervise(List.of("edge-a"));
    for (int i = 0; i < 4; i++) {
      target.exit("edge-a", 1);
      clock.advance(Duration.ofSeconds(10));
    }
    clock.advance(Duration.ofMinutes(3));
    target.exit("edge-a", 1);
    assertTrue(events.lines.get(events.lines.size() - 1).endsWith("again in 1000 ms"), events.lines.toString());
    clock.advance(Duration.ofSeconds(1));
    assertEquals(Supervisor.State.RUNNING, supervisor.state("edge-a"));
  }

  @Test
  void aFailedStartIsReportedAndTriedAgainLater() {
    supervisor.supervise(List.of("edge-a"));
    target.failNextStarts = 1;
    target.exit("edge-a", 143);
    clock.advance(Duration.ofSeconds(1));
    assertEquals("failed edge-a: edge-a exited with code 1 before it was ready, again in 2000 ms", events.lines.get(1));
    assertEquals(Supervisor.State.BACKOFF, supervisor.state("edge-a"));
    clock.advance(Duration.ofSeconds(2));
    assertEquals(2, target.restarts.size());
    assertEquals(Supervisor.State.RUNNING, supervisor.state("edge-a"));
  }

  @Test
  void afterStopExitsAreExpectedAndNothingStartsAgain() {
    supervisor.supervise(List.of("kafka", "edge-a"));
    target.exit("kafka", 1);
    supervisor.stop();
    target.exit("edge-a", 143);
    clock.advance(Duration.ofMinutes(1));
    assertTrue(target.restarts.isEmpty(), String.valueOf(target.restarts));
    assertEquals(1, events.lines.size(), "only the exit before stop is reported: " + events.lines);
    assertEquals(Supervisor.State.STOPPED, supervisor.state("edge-a"));
  }

  @Test
  void exitCodesSayTheSignal() {
    assertEquals("exit code 1", Supervisor.describe(1));
    assertEquals("killed by SIGKILL (exit code 137)", Supervisor.describe(137));
    assertEquals("killed by SIGTERM (exit code 143)", Supervisor.describe(143));
    assertEquals("killed by SIGSEGV (exit code 139)", Supervisor.describe(139));
  }
}
