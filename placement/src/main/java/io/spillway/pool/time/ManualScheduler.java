package io.spillway.pool.time;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link ScheduledExecutorService} on a {@link ManualClock}: nothing runs until the test says so, and
 * then everything due runs on the test's thread, in deadline order (ties in the order they were
 * scheduled). {@link #advance} moves the clock to each due task in turn, so a task sees the clock at its
 * own deadline, and a task that schedules another within the advanced span sees it run too. Code under
 * test takes the pair as it takes a real clock and scheduler; its test then runs timers, backoff and
 * retries deterministically, without sleeping.
 *
 * <p>Thread-safe: tasks may be scheduled from any thread; they run only on the thread that calls
 * {@link #advance} or {@link #runDue}. A task's exception is kept in its future, as a real scheduler
 * keeps it; a periodic task that throws is not run again.
 */
public final class ManualScheduler extends AbstractExecutorService implements ScheduledExecutorService {

  private final ManualClock clock;
  private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
  private long sequence;
  private boolean shutdown;

  public ManualScheduler(ManualClock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** A scheduler on a fresh clock at 2025-01-01T00:00:00Z. */
  public static ManualScheduler atEpochOf2025() {
    return new ManualScheduler(ManualClock.atEpochOf2025());
  }

  public ManualClock clock() {
    return clock;
  }

  /** Moves the clock forward by {@code by}, running every task that comes due on the way. */
  public Instant advance(Duration by) {
    Instant end = clock.instant().plus(Objects.requireNonNull(by, "by"));
    while (true) {
      Task<?> next;
      synchronized (this) {
        next = queue.peek();
        if (next == null || next.at.isAfter(end)) {
          break;
        }
        queue.poll();
      }
      if (next.at.isAfter(clock.instant())) {
        clock.advance(Duration.between(clock.instant(), next.at));
      }
      next.runOnce();
    }
    if (end.isAfter(clock.instant())) {
      clock.advance(Duration.between(clock.instant(), end));
    }
    return clock.instant();
  }

  /** Runs what is due now (for example what {@link #execute} was given) without moving the clock. */
  public void runDue() {
    advance(Duration.ZERO);
  }

  /** Tasks waiting to run, periodic ones included, cancelled ones not. */
  public synchronized int pending() {
    return (int) queue.stream().filter(t -> !t.isCancelled()).count();
  }

  /** How long until the next task is due, or null when none waits. */
  public synchronized Duration nextDelay() {
    return queue.stream().filter(t -> !t.isCancelled()).min(Task::compareTo)
        .map(t -> Duration.between(clock.instant(), t.at)).orElse(null);
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return add(new Task<>(command, null, at(delay, unit), 0));
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    return add(new Task<>(callable, at(delay, unit), 0));
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
    return add(new Task<>(command, null, at(initialDelay, unit), positive(period, unit)));
  }

  /** On a manual clock a task takes no time, so a fixed delay is a fixed rate. */
  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
    return scheduleAtFixedRate(command, initialDelay, delay, unit);
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.NANOSECONDS);
  }

  @Override
  public synchronized void shutdown() {
    shutdown = true;
    queue.removeIf(t -> t.periodNanos != 0);
  }

  @Override
  public synchronized List<Runnable> shutdownNow() {
    shutdown = true;
    List<Runnable> left = new ArrayList<>(queue);
    queue.clear();
    return left;
  }

  @Override
  public synchronized boolean isShutdown() {
    return shutdown;
  }

  @Override
  public synchronized boolean isTerminated() {
    return shutdown && queue.isEmpty();
  }

  /** Nothing runs by itself here: answers at once whether everything has run. */
  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return isTerminated();
  }

  private Instant at(long delay, TimeUnit unit) {
    return clock.instant().plusNanos(Math.max(0, unit.toNanos(delay)));
  }

  private static long positive(long period, TimeUnit unit) {
    if (period <= 0) {
      throw new IllegalArgumentException("period " + period + " " + unit + " must be positive");
    }
    return unit.toNanos(period);
  }

  private synchronized <V> Task<V> add(Task<V> task) {
    if (shutdown) {
      throw new RejectedExecutionException("the scheduler is shut down");
    }
    task.order = sequence++;
    queue.add(task);
    return task;
  }

  private synchronized void requeue(Task<?> task) {
    if (!shutdown && !task.isCancelled()) {
      task.order = sequence++;
      queue.add(task);
    }
  }

  private synchronized void remove(Task<?> task) {
    queue.remove(task);
  }

  private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
    private final long periodNanos;
    private Instant at;
    private long order;

    Task(Runnable command, V result, Instant at, long periodNanos) {
      super(command, result);
      this.at = at;
      this.periodNanos = periodNanos;
    }

    Task(Callable<V> callable, Instant at, long periodNanos) {
      super(callable);
      this.at = at;
      this.periodNanos = periodNanos;
    }

    void runOnce() {
      if (periodNanos == 0) {
        run();
      } else if (runAndReset()) {
        at = at.plusNanos(periodNanos);
        requeue(this);
      }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      if (cancelled) {
        remove(this);
      }
      return cancelled;
    }

    /** A future here completes only when the test runs it: waiting on it from the test would hang. */
    @Override
    public V get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
      if (!isDone()) {
        throw new TimeoutException("due at " + at + ", the manual clock reads " + clock.instant());
      }
      return super.get(timeout, unit);
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(Duration.between(clock.instant(), at));
    }

    @Override
    public int compareTo(Delayed other) {
      Task<?> o = (Task<?>) other;
      int c = at.compareTo(o.at);
      return c != 0 ? c : Long.compare(order, o.order);
    }

    @Override
    public boolean equals(Object o) {
      return this == o;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(this);
    }
  }
}
