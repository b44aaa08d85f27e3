package io.spillway.pool.failover;

import io.grpc.Status;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * The timing of one session's rebuild: when the next attempt to find a new upstream runs (at once,
 * then with exponential backoff), when the session gives up (the replay deadline, counted from the
 * first loss), and what it was lost to. Not thread-safe: used on its session's serializing executor;
 * the attempts it schedules run on the scheduler's thread and must hand themselves back.
 */
public final class Rebuilder {
  private final Scheduler scheduler;
  private final LongSupplier nanoTime;
  private final Duration deadline;
  private final long backoffBaseMillis;
  private final long backoffMaxMillis;
  private int attempts;
  private long lostAtNanos;
  private boolean lost;
  private Status lastLoss;

  /**
   * @param backoffBase the first retry waits twice this, each later one twice the one before
   * @param backoffMax no retry waits longer
   */
  public Rebuilder(Scheduler scheduler, LongSupplier nanoTime, Duration deadline, Duration backoffBase,
      Duration backoffMax) {
    this.scheduler = scheduler;
    this.nanoTime = nanoTime;
    this.deadline = deadline;
    this.backoffBaseMillis = backoffBase.toMillis();
    this.backoffMaxMillis = backoffMax.toMillis();
  }

  /** The upstream was lost (or left, with {@code why} saying why): the clock starts unless it runs. */
  public void lost(Status why) {
    if (!lost) {
      lost = true;
      lostAtNanos = nanoTime.getAsLong();
    }
    lastLoss = why;
  }

  /** Restarts the clock for a deliberate move (failback). */
  public void moving(Status why) {
    lost = true;
    lostAtNanos = nanoTime.getAsLong();
    lastLoss = why;
  }

  /** Schedules the next attempt: the first at once, later ones after a growing delay. */
  public void scheduleAttempt(Runnable attempt) {
    long delay = attempts == 0 ? 0 : Math.min(backoffMaxMillis, backoffBaseMillis << Math.min(attempts, 6));
    attempts++;
    scheduler.schedule(attempt, delay);
  }

  /** An attempt found no new upstream: the reason is added to what the session was lost to. */
  public void attemptFailed(Status why) {
    lastLoss = Status.UNAVAILABLE.withDescription(lastLoss.getDescription() + " (then: "
        + why.getDescription() + ")");
  }

  /** True once the session has waited longer than the deadline since it was lost. */
  public boolean pastDeadline() {
    return nanoTime.getAsLong() - lostAtNanos > deadline.toNanos();
  }

  /** The new upstream opened the session: returns how long it was without one, and resets. */
  public long rebuilt() {
    long gap = nanoTime.getAsLong() - lostAtNanos;
    attempts = 0;
    lost = false;
    return gap;
  }

  /** Attempts made since the last rebuild. */
  public int attempts() {
    return attempts;
  }

  public Duration deadline() {
    return deadline;
  }

  /** What the session was last lost to, or null before any loss. */
  public Status lastLoss() {
    return lastLoss;
  }
}
