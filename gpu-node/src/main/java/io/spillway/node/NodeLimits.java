package io.spillway.node;

import java.time.Duration;

/**
 * What one session, one frame or one connection may take of a node, so that one client cannot exhaust
 * what the others share. Every limit is refused with a status that names it and its value
 * ({@code RESOURCE_EXHAUSTED} for counts and sizes, {@code DEADLINE_EXCEEDED} for deadlines), and
 * refusing it loses nothing of any other session. The {@code spillway node} options that set them are
 * listed in docs/configuration.md.
 *
 * @param maxFrameOps ops one client frame may hold; a frame with more is refused whole, unparsed
 *     (counted by a scan of its tags, so a frame of millions of empty ops costs no memory)
 * @param replyFrameBytes replies are sent once the pending server frame reaches this size, so errors of
 *     a long frame do not queue up until it ends
 * @param maxHandles buffers and module variables a session may hold at once
 * @param maxModules modules a session may hold at once
 * @param maxModuleBytes the largest module image
 * @param maxSessionsPerCard sessions one card may hold, whatever their slices (a 1-byte slice with no
 *     compute still takes a context and a scheduler share)
 * @param firstFrameTimeout how long a new stream may take to send its open
 * @param idleTimeout how long an open session may go without a frame before it is ended ({@link
 *     Duration#ZERO}: never)
 * @param maxStreamsPerConnection concurrent session streams on one HTTP/2 connection
 * @param keepAliveTime how often the node pings a quiet connection
 * @param keepAliveTimeout how long a ping may go unanswered before the connection is dropped
 * @param launchDeadline how long one kernel may run before its session's context is destroyed and the
 *     session ends ({@link Duration#ZERO}: no deadline)
 * @param replyStallTimeout how long replies may wait on a stream that is not ready (a client that does
 *     not read them) before the session ends with {@code RESOURCE_EXHAUSTED} and its slice is freed
 */
public record NodeLimits(int maxFrameOps, int replyFrameBytes, int maxHandles, int maxModules,
    int maxModuleBytes, int maxSessionsPerCard, Duration firstFrameTimeout, Duration idleTimeout,
    int maxStreamsPerConnection, Duration keepAliveTime, Duration keepAliveTimeout, Duration launchDeadline,
    Duration replyStallTimeout) {

  public static final int DEFAULT_MAX_FRAME_OPS = 65_536;
  public static final int DEFAULT_REPLY_FRAME_BYTES = 1 << 20;
  public static final int DEFAULT_MAX_HANDLES = 65_536;
  public static final int DEFAULT_MAX_MODULES = 256;
  public static final int DEFAULT_MAX_MODULE_BYTES = 32 << 20;
  public static final int DEFAULT_MAX_SESSIONS_PER_CARD = 64;
  public static final Duration DEFAULT_FIRST_FRAME_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(30);
  public static final int DEFAULT_MAX_STREAMS_PER_CONNECTION = 1024;
  public static final Duration DEFAULT_KEEPALIVE_TIME = Duration.ofSeconds(30);
  public static final Duration DEFAULT_KEEPALIVE_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_LAUNCH_DEADLINE = Duration.ofMinutes(5);
  public static final Duration DEFAULT_REPLY_STALL_TIMEOUT = Duration.ofSeconds(30);

  public NodeLimits {
    positive("max-frame-ops", maxFrameOps);
    positive("max-handles", maxHandles);
    positive("max-modules", maxModules);
    positive("max-module-bytes", maxModuleBytes);
    positive("max-sessions-per-card", maxSessionsPerCard);
    positive("max-streams-per-connection", maxStreamsPerConnection);
    if (replyFrameBytes < 4096) {
      throw new IllegalArgumentException("reply-frame-bytes must be at least 4096, got " + replyFrameBytes);
    }
    notNegative("first-frame-timeout", firstFrameTimeout);
    if (firstFrameTimeout.isZero()) {
      throw new IllegalArgumentException("first-frame-timeout must be positive, got " + firstFrameTimeout);
    }
    notNegative("idle-timeout", idleTimeout);
    notNegative("keepalive-time", keepAliveTime);
    notNegative("keepalive-timeout", keepAliveTimeout);
    notNegative("launch-deadline", launchDeadline);
    notNegative("reply-stall-timeout", replyStallTimeout);
    if (replyStallTimeout.isZero()) {
      throw new IllegalArgumentException("reply-stall-timeout must be positive, got " + replyStallTimeout);
    }
  }

  /** With the default reply stall timeout. */
  public NodeLimits(int maxFrameOps, int replyFrameBytes, int maxHandles, int maxModules, int maxModuleBytes,
      int maxSessionsPerCard, Duration firstFrameTimeout, Duration idleTimeout, int maxStreamsPerConnection,
      Duration keepAliveTime, Duration keepAliveTimeout, Duration launchDeadline) {
    this(maxFrameOps, replyFrameBytes, maxHandles, maxModules, maxModuleBytes, maxSessionsPerCard,
        firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout, launchDeadline,
        DEFAULT_REPLY_STALL_TIMEOUT);
  }

  public static NodeLimits defaults() {
    return new NodeLimits(DEFAULT_MAX_FRAME_OPS, DEFAULT_REPLY_FRAME_BYTES, DEFAULT_MAX_HANDLES,
        DEFAULT_MAX_MODULES, DEFAULT_MAX_MODULE_BYTES, DEFAULT_MAX_SESSIONS_PER_CARD,
        DEFAULT_FIRST_FRAME_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_STREAMS_PER_CONNECTION,
        DEFAULT_KEEPALIVE_TIME, DEFAULT_KEEPALIVE_TIMEOUT, DEFAULT_LAUNCH_DEADLINE);
  }

  public NodeLimits withMaxFrameOps(int v) {
    return new NodeLimits(v, replyFrameBytes, maxHandles, maxModules, maxModuleBytes, maxSessionsPerCard,
        firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout, launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withReplyFrameBytes(int v) {
    return new NodeLimits(maxFrameOps, v, maxHandles, maxModules, maxModuleBytes, maxSessionsPerCard,
        firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout, launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withMaxHandles(int v) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, v, maxModules, maxModuleBytes, maxSessionsPerCard,
        firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout, launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withMaxModules(int v) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, maxHandles, v, maxModuleBytes, maxSessionsPerCard,
        firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout, launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withMaxModuleBytes(int v) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, maxHandles, maxModules, v, maxSessionsPerCard,
        firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout, launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withMaxSessionsPerCard(int v) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, maxHandles, maxModules, maxModuleBytes, v,
        firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout, launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withFirstFrameTimeout(Duration v) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, maxHandles, maxModules, maxModuleBytes,
        maxSessionsPerCard, v, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout, launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withIdleTimeout(Duration v) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, maxHandles, maxModules, maxModuleBytes,
        maxSessionsPerCard, firstFrameTimeout, v, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout,
        launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withMaxStreamsPerConnection(int v) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, maxHandles, maxModules, maxModuleBytes,
        maxSessionsPerCard, firstFrameTimeout, idleTimeout, v, keepAliveTime, keepAliveTimeout, launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withKeepAlive(Duration time, Duration timeout) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, maxHandles, maxModules, maxModuleBytes,
        maxSessionsPerCard, firstFrameTimeout, idleTimeout, maxStreamsPerConnection, time, timeout, launchDeadline,
        replyStallTimeout);
  }

  public NodeLimits withLaunchDeadline(Duration v) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, maxHandles, maxModules, maxModuleBytes,
        maxSessionsPerCard, firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime,
        keepAliveTimeout, v, replyStallTimeout);
  }

  public NodeLimits withReplyStallTimeout(Duration v) {
    return new NodeLimits(maxFrameOps, replyFrameBytes, maxHandles, maxModules, maxModuleBytes,
        maxSessionsPerCard, firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime,
        keepAliveTimeout, launchDeadline, v);
  }

  private static void positive(String key, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(key + " must be at least 1, got " + value);
    }
  }

  private static void notNegative(String key, Duration value) {
    if (value == null || value.isNegative()) {
      throw new IllegalArgumentException(key + " must be zero or more, got " + value);
    }
  }
}
