package io.spillway.pool.time;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Objects;

/**
 * An {@link InstantSource} that moves only when told to, so tests of heartbeats, deadlines and backoff
 * advance time instead of sleeping. Shipped in the main artifact (as Kafka ships {@code MockTime}) so the
 * gateways' tests can use it too.
 *
 * <p>Thread-safe: reads and advances may come from any thread.
 */
public final class ManualClock implements InstantSource {

  private volatile Instant now;

  public ManualClock(Instant start) {
    this.now = Objects.requireNonNull(start, "start");
  }

  /** A clock at an arbitrary fixed instant (2025-01-01T00:00:00Z). */
  public static ManualClock atEpochOf2025() {
    return new ManualClock(Instant.parse("2025-01-01T00:00:00Z"));
  }

  @Override
  public Instant instant() {
    return now;
  }

  /** Moves the clock forward; a negative duration is refused (time here never goes back). */
  public synchronized Instant advance(Duration by) {
    if (by.isNegative()) {
      throw new IllegalArgumentException("cannot move a ManualClock backwards by " + by);
    }
    now = now.plus(by);
    return now;
  }
}
