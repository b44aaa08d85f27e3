package io.spillway.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waiting in tests: the one way to wait for something another thread does. A test waits on a condition
 * that says what it waits for, never on a sleep, and that holds for negative assertions too: to show that
 * something did not happen, wait for the event after which it would have happened, then assert.
 *
 * <p>The condition is polled from the calling thread every {@link #POLL}; an exception it throws ends
 * the wait and reaches the test. On timeout an {@link AssertionError} names what was awaited.
 */
public final class Await {

  /**
   * Long enough for a 2-core machine that also builds (a broker's records can take tens of seconds to
   * arrive there); a condition that holds returns at once anyway, so only a failing test waits this long.
   */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  static final Duration POLL = Duration.ofMillis(10);

  private Await() {}

  /** Waits up to {@link #DEFAULT_TIMEOUT} until {@code condition} holds. */
  public static void until(String what, BooleanSupplier condition) {
    until(DEFAULT_TIMEOUT, what, condition);
  }

  /** Waits up to {@code timeout} until {@code condition} holds; {@code what} says what it waits for. */
  public static void until(Duration timeout, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out after " + describe(timeout) + " waiting until " + what);
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting until " + what, e);
      }
    }
  }

  private static String describe(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
