package io.spillway.pool.session;

import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.config.GatewayConfig;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The deadlines of one session's stream, each a check that the gateway's timer enqueues onto the
 * session's executor: the first frame (no open within {@code first-frame-timeout} of the stream's
 * start), idleness (no sign of life either way for {@code idle-timeout}, while no answer is awaited),
 * and a reply stall (replies left unread on a client stream that is not ready for
 * {@code reply-stall-timeout}). Each ends the session with a status that names its key.
 *
 * <p>Threading: {@link #active} is thread-safe (transport threads and the inbound progress of a frame
 * still arriving call it); everything else runs on the session's executor.
 */
final class SessionDeadlines {
  private static final Logger LOG = Logger.getLogger(SessionDeadlines.class.getName());

  private final ForwardedSession owner;
  private final SessionHost host;
  private final SynchronizationContext executor;
  /**
   * System.nanoTime() of the session's last sign of life: a transport event of the client's stream, bytes
   * of a client frame still arriving ({@link InboundProgress}), or a frame sent to the client. Written by
   * transport threads and the executor.
   */
  private volatile long lastActive = System.nanoTime();
  /** System.nanoTime() since when replies wait on a client stream that is not ready; -1: none wait. */
  private long stalledSince = -1;
  private boolean stallCheckArmed;

  SessionDeadlines(ForwardedSession owner, SessionHost host, SynchronizationContext executor) {
    this.owner = owner;
    this.host = host;
    this.executor = executor;
  }

  /** The stream started: the first frame's deadline runs from now. */
  void streamStarted() {
    host.scheduler().schedule(() -> executor.execute(this::firstFrameDeadline),
        host.config().limits().firstFrameTimeout().toMillis());
  }

  /** A sign of life. Thread-safe. */
  void active() {
    lastActive = System.nanoTime();
  }

  /** The session opened for the first time: idleness is checked from now on. */
  void opened() {
    armIdleDeadline(host.config().limits().idleTimeout().toMillis());
  }

  /** The client's stream is ready again: replies no longer wait on it. */
  void clientReady() {
    stalledSince = -1;
  }

  /**
   * A frame went to the client: the session is alive. If the client's stream is not ready now, the
   * replies wait on a client that does not read, and the reply-stall clock starts.
   */
  void sentToClient() {
    active();
    if (stalledSince < 0 && !owner.clientReady()) {
      stalledSince = System.nanoTime();
      armStallCheck(host.config().limits().replyStallTimeout().toMillis());
    }
  }

  private void firstFrameDeadline() {
    GatewayConfig.Limits limits = host.config().limits();
    if (owner.state() == SessionState.ENDED) {
      return;
    }
    if (owner.notYetOpening()) {
      owner.expire(Status.DEADLINE_EXCEEDED.withDescription("no open within "
          + limits.firstFrameTimeout().toMillis() + " ms of the stream's start (first-frame-timeout "
          + limits.firstFrameTimeout() + ")"));
    }
  }

  /** Checks for idleness when the timeout could first have passed since the last transport event. */
  private void armIdleDeadline(long delayMillis) {
    if (host.config().limits().idleTimeout().isZero()) {
      return;
    }
    host.scheduler().schedule(() -> executor.execute(this::idleCheck), Math.max(1, delayMillis));
  }

  private void idleCheck() {
    if (owner.state() == SessionState.ENDED) {
      return;
    }
    Duration limit = host.config().limits().idleTimeout();
    long idleMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastActive);
    boolean waiting = owner.awaitsAnswers();
    if (waiting || idleMillis < limit.toMillis()) {
      armIdleDeadline(waiting ? limit.toMillis() : limit.toMillis() - idleMillis);
      return;
    }
    LOG.info(() -> "session " + owner.id().value() + " of tenant " + owner.tenant() + " idle for " + idleMillis
        + " ms: ended");
    owner.expire(Status.FAILED_PRECONDITION.withDescription("session " + owner.id().value() + " sent and got"
        + " no frame for " + idleMillis + " ms (idle-timeout " + limit + "); it was ended and its slices freed"));
  }

  private void armStallCheck(long delayMillis) {
    if (!stallCheckArmed) {
      stallCheckArmed = true;
      host.scheduler().schedule(() -> executor.execute(this::stallCheck), Math.max(1, delayMillis));
    }
  }

  private void stallCheck() {
    stallCheckArmed = false;
    if (owner.state() == SessionState.ENDED || stalledSince < 0) {
      return;
    }
    if (owner.clientReady()) {
      stalledSince = -1;
      return;
    }
    Duration limit = host.config().limits().replyStallTimeout();
    long stalledMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stalledSince);
    if (stalledMillis < limit.toMillis()) {
      armStallCheck(limit.toMillis() - stalledMillis);
      return;
    }
    LOG.info(() -> "session " + owner.id().value() + " of tenant " + owner.tenant() + " read no reply for "
        + stalledMillis + " ms: ended");
    owner.expire(Status.RESOURCE_EXHAUSTED.withDescription("session " + owner.id().value() + " left its"
        + " replies unread for " + stalledMillis + " ms (reply-stall-timeout " + limit + "); it was ended and"
        + " its slices freed"));
  }
}
