package io.spillway.launcher;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Keeps the components of {@code spillway up} running. A component whose process exits while the
 * supervisor runs is started again after a backoff that doubles with each restart in the last
 * {@link Policy#window()}; one that would need more than {@link Policy#maxRestarts()} restarts in that
 * window is crash-looping and is left down. Every exit, restart and give-up is reported to {@link Events}.
 *
 * <p>Each component is in one {@link State}; the table of transitions is in {@link #exited} (RUNNING →
 * BACKOFF or DOWN), {@link #restartNow} (BACKOFF → STARTING → RUNNING, or back through {@link #exited} when
 * the start fails) and {@link #stop} (any → STOPPED).
 *
 * <p>Threading: every transition runs on the {@link Scheduler}'s one thread; exit callbacks from process
 * watchers only enqueue. A restart blocks that thread until the component is ready, so restarts are
 * one at a time, which also starts a component only after one it depends on that died with it.
 */
final class Supervisor {

  enum State { RUNNING, BACKOFF, STARTING, DOWN, STOPPED }

  /**
   * @param firstBackoff wait before the first restart in a window; doubled for each further one
   * @param maxBackoff   the longest wait
   * @param maxRestarts  restarts allowed within {@code window}; the next exit leaves the component down
   * @param window       how far back restarts count
   */
  record Policy(Duration firstBackoff, Duration maxBackoff, int maxRestarts, Duration window) {
    /** 1 s doubling to 30 s; five restarts in two minutes is a crash loop. */
    static Policy defaults() {
      return new Policy(Duration.ofSeconds(1), Duration.ofSeconds(30), 5, Duration.ofMinutes(2));
    }

    Duration backoff(int restartsInWindow) {
      Duration d = firstBackoff.multipliedBy(1L << Math.min(20, restartsInWindow));
      return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
    }
  }

  /** The components, as the supervisor acts on them; the real one is the {@link Federation}. */
  interface Target {
    /** Calls {@code onExit} with the exit code once the component's current process exits. */
    void watch(String name, IntConsumer onExit);

    /** Starts the component again and returns when it is ready, or throws why it is not. */
    void restart(String name) throws Exception;
  }

  /** What the supervisor tells the operator. Called on the supervisor's thread. */
  interface Events {
    void exited(String name, String reason, Duration restartIn);

    void restarted(String name, int restartsInWindow, Duration took);

    void restartFailed(String name, String why, Duration restartIn);

    void leftDown(String name, String reason, int restarts, Duration window);
  }

  /** Time and the supervisor's one thread: a scheduled executor in production, a fake clock in tests. */
  interface Scheduler {
    Instant now();

    /** Runs {@code task} on the supervisor's thread, after the tasks already queued. */
    void execute(Runnable task);

    /** Runs {@code task} on the supervisor's thread after {@code delay}. */
    void schedule(Duration delay, Runnable task);
  }

  private static final class Supervised {
    State state = State.RUNNING;
    /** Which process of the component a watcher reports on: an old one's exit is not news. */
    int incarnation;
    final Deque<Instant> restarts = new ArrayDeque<>();
  }

  private final Target target;
  private final Events events;
  private final Scheduler scheduler;
  private final Policy policy;
  private final Map<String, Supervised> components = new LinkedHashMap<>();
  private volatile boolean stopped;

  Supervisor(Target target, Events events, Scheduler scheduler, Policy policy) {
    this.target = target;
    this.events = events;
    this.scheduler = scheduler;
    this.policy = policy;
  }

  /** Starts watching {@code names}, which are running now. */
  void supervise(List<String> names) {
    scheduler.execute(() -> {
      for (String name : names) {
        Supervised s = new Supervised();
        components.put(name, s);
        watch(name, s);
      }
    });
  }

  /** From now on exits are expected: nothing is started again. Safe from any thread. */
  void stop() {
    stopped = true;
    scheduler.execute(() -> components.values().forEach(s -> s.state = State.STOPPED));
  }

  /** The component's state, read on the supervisor's thread (tests run it inline). */
  State state(String name) {
    Supervised s = components.get(name);
    return s == null ? null : s.state;
  }

  private void watch(String name, Supervised s) {
    int incarnation = s.incarnation;
    target.watch(name, code -> scheduler.execute(() -> {
      if (s.incarnation == incarnation && s.state == State.RUNNING) {
        exited(name, s, describe(code), false);
      }
    }));
  }

  private void exited(String name, Supervised s, String reason, boolean failedStart) {
    if (stopped) {
      s.state = State.STOPPED;
      return;
    }
    Instant now = scheduler.now();
    while (!s.restarts.isEmpty() && s.restarts.peekFirst().isBefore(now.minus(policy.window()))) {
      s.restarts.removeFirst();
    }
    if (s.restarts.size() >= policy.maxRestarts()) {
      s.state = State.DOWN;
      events.leftDown(name, reason, s.restarts.size(), policy.window());
      return;
    }
    Duration wait = policy.backoff(s.restarts.size());
    s.state = State.BACKOFF;
    if (failedStart) {
      events.restartFailed(name, reason, wait);
    } else {
      events.exited(name, reason, wait);
    }
    scheduler.schedule(wait, () -> restartNow(name, s));
  }

  private void restartNow(String name, Supervised s) {
    if (stopped || s.state != State.BACKOFF) {
      return;
    }
    s.state = State.STARTING;
    Instant t0 = scheduler.now();
    s.restarts.addLast(t0);
    s.incarnation++;
    try {
      target.restart(name);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      s.state = State.STOPPED;
      return;
    } catch (Exception e) {
      exited(name, s, String.valueOf(e.getMessage()), true);
      return;
    }
    if (stopped) {
      s.state = State.STOPPED;
      return;
    }
    s.state = State.RUNNING;
    watch(name, s);
    events.restarted(name, s.restarts.size(), Duration.between(t0, scheduler.now()));
  }

  /**
   * {@code exit code 1}; {@code killed by SIGKILL (exit code 137)}: the JDK reports a process ended by
   * signal N as exit code 128 + N.
   */
  static String describe(int exitCode) {
    if (exitCode > 128 && exitCode < 160) {
      String signal = switch (exitCode - 128) {
        case 1 -> "SIGHUP";
        case 2 -> "SIGINT";
        case 3 -> "SIGQUIT";
        case 6 -> "SIGABRT";
        case 9 -> "SIGKILL";
        case 11 -> "SIGSEGV";
        case 15 -> "SIGTERM";
        default -> "signal " + (exitCode - 128);
      };
      return "killed by " + signal + " (exit code " + exitCode + ")";
    }
    return "exit code " + exitCode;
  }
}
