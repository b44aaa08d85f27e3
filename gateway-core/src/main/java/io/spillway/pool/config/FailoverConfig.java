package io.spillway.pool.config;

import java.time.Duration;

/**
 * How a gateway keeps its sessions alive when the GPU, the link or the lease under them is lost: it
 * journals each session (modules, allocations, the contents of persistent buffers, and the operations
 * since the last completed synchronizing call) and replays it on another slice. docs/failover.md
 * explains the semantics; the edge gateway maps {@code spillway.edge.failover.*} and
 * {@code spillway.edge.failback} onto this.
 *
 * @param journal whether sessions are journaled and replayed; off, a lost upstream ends the session
 *     with {@code UNAVAILABLE} (the center gateway runs with it off: the edge that sent the session there
 *     replays it)
 * @param maxSessionBytes journal bound per session; past it the session becomes non-replayable and is
 *     told so
 * @param maxGatewayBytes journal bound for all sessions of the gateway together
 * @param replayDeadline how long a lost session may take to be rebuilt before it fails with
 *     {@code UNAVAILABLE}
 * @param failback what happens to a spilled session when local capacity returns
 * @param failbackInterval how often spilled sessions look for local capacity
 * @param reopenTimeout how long a rebuilt open may go unanswered before the attempt counts as failed
 *     (a link that accepts connections but carries nothing would otherwise leave it waiting)
 * @param replayBackoffBase a failed rebuild attempt is retried after twice this, each later one after
 *     twice the delay before
 * @param replayBackoffMax no retry of a rebuild waits longer than this
 */
public record FailoverConfig(boolean journal, long maxSessionBytes, long maxGatewayBytes,
    Duration replayDeadline, Failback failback, Duration failbackInterval, Duration reopenTimeout,
    Duration replayBackoffBase, Duration replayBackoffMax) {

  /** Rebuilt opens answered within 3 s. */
  public static final Duration DEFAULT_REOPEN_TIMEOUT = Duration.ofSeconds(3);
  /** Retries of a rebuild after 100 ms, 200 ms, ... */
  public static final Duration DEFAULT_REPLAY_BACKOFF_BASE = Duration.ofMillis(50);
  /** ... up to 2 s. */
  public static final Duration DEFAULT_REPLAY_BACKOFF_MAX = Duration.ofSeconds(2);

  /** When a session spilled to the center comes back to the local pool. */
  public enum Failback {
    /** It stays on the center until it ends. */
    NEVER,
    /** It moves back once local capacity is free and it has no operation in flight. */
    WHEN_IDLE,
    /**
     * It moves back as soon as local capacity is free; operations in flight are replayed on the local
     * slice.
     */
    IMMEDIATE
  }

  public FailoverConfig {
    if (maxSessionBytes <= 0 || maxGatewayBytes <= 0) {
      throw new IllegalArgumentException("journal bounds must be positive, got " + maxSessionBytes
          + " per session and " + maxGatewayBytes + " per gateway");
    }
    if (replayDeadline.isNegative() || replayDeadline.isZero()) {
      throw new IllegalArgumentException("replayDeadline must be positive, got " + replayDeadline);
    }
    if (failbackInterval.isNegative() || failbackInterval.isZero()) {
      throw new IllegalArgumentException("failbackInterval must be positive, got " + failbackInterval);
    }
    if (failback == null) {
      throw new IllegalArgumentException("failback must be set");
    }
    if (reopenTimeout.isNegative() || reopenTimeout.isZero()) {
      throw new IllegalArgumentException("reopenTimeout must be positive, got " + reopenTimeout);
    }
    if (replayBackoffBase.isNegative() || replayBackoffBase.isZero()
        || replayBackoffMax.compareTo(replayBackoffBase) < 0) {
      throw new IllegalArgumentException("replay backoff must be positive and its max at least its base, got "
          + replayBackoffBase + " and " + replayBackoffMax);
    }
  }

  /** With the default reopen timeout and replay backoff. */
  public FailoverConfig(boolean journal, long maxSessionBytes, long maxGatewayBytes, Duration replayDeadline,
      Failback failback, Duration failbackInterval) {
    this(journal, maxSessionBytes, maxGatewayBytes, replayDeadline, failback, failbackInterval,
        DEFAULT_REOPEN_TIMEOUT, DEFAULT_REPLAY_BACKOFF_BASE, DEFAULT_REPLAY_BACKOFF_MAX);
  }

  /** Journal on, 256 MiB per session, 4 GiB per gateway, 30 s to rebuild, no failback. */
  public static FailoverConfig defaults() {
    return new FailoverConfig(true, 256L << 20, 4L << 30, Duration.ofSeconds(30), Failback.NEVER,
        Duration.ofSeconds(1));
  }

  /** No journal: a lost upstream ends the session. */
  public static FailoverConfig off() {
    return new FailoverConfig(false, 1, 1, Duration.ofSeconds(30), Failback.NEVER, Duration.ofSeconds(1));
  }

  public FailoverConfig withFailback(Failback policy) {
    return new FailoverConfig(journal, maxSessionBytes, maxGatewayBytes, replayDeadline, policy,
        failbackInterval, reopenTimeout, replayBackoffBase, replayBackoffMax);
  }

  public FailoverConfig withBounds(long perSession, long perGateway) {
    return new FailoverConfig(journal, perSession, perGateway, replayDeadline, failback, failbackInterval,
        reopenTimeout, replayBackoffBase, replayBackoffMax);
  }

  public FailoverConfig withReplayDeadline(Duration deadline) {
    return new FailoverConfig(journal, maxSessionBytes, maxGatewayBytes, deadline, failback,
        failbackInterval, reopenTimeout, replayBackoffBase, replayBackoffMax);
  }

  public FailoverConfig withReopenTimeout(Duration timeout) {
    return new FailoverConfig(journal, maxSessionBytes, maxGatewayBytes, replayDeadline, failback,
        failbackInterval, timeout, replayBackoffBase, replayBackoffMax);
  }

  public FailoverConfig withReplayBackoff(Duration base, Duration max) {
    return new FailoverConfig(journal, maxSessionBytes, maxGatewayBytes, replayDeadline, failback,
        failbackInterval, reopenTimeout, base, max);
  }
}
