package io.spillway.pool.failover;

/** Runs tasks later; the gateway's timer in production, a manual one in tests. */
@FunctionalInterface
public interface Scheduler {
  /** Runs {@code task} after {@code delayMillis} (0: as soon as possible), on a thread of the scheduler's. */
  void schedule(Runnable task, long delayMillis);
}
