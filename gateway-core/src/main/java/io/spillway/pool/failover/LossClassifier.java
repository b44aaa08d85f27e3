package io.spillway.pool.failover;

import io.grpc.Status;
import java.util.EnumSet;
import java.util.Set;

/**
 * How the end of an upstream stream is read: the session finished, the session itself failed (a fatal
 * op: nothing to rebuild), or what was under it was lost (rebuild it elsewhere). The whole table:
 *
 * <pre>
 * status                                              rebuilding?  verdict
 * OK                                                  any          FINISHED
 * UNAVAILABLE, INTERNAL, CANCELLED, DEADLINE_EXCEEDED,
 *   UNKNOWN                                           any          LOST
 * any other code                                      no           SESSION_FAILED
 * any other code                                      yes          LOST (the new upstream refused it)
 * </pre>
 *
 * <p>A loss is blamed on the upstream itself (so that new sessions avoid it at once) only when the stream
 * broke with {@code UNAVAILABLE} and the upstream did not say, with {@link #UPSTREAM_LOST_TRAILER}, that it
 * is alive and lost what was under it: then the node is marked unreachable, or for a spilled session the
 * center gateway is, and the lease is kept to reopen the session through another replica.
 */
public final class LossClassifier {
  private LossClassifier() {}

  /** Trailer a gateway that does not journal (a center) sets when it ends a session because what was under it was lost. */
  public static final String UPSTREAM_LOST_TRAILER = "spillway-upstream-lost";

  private static final Set<Status.Code> LOST = EnumSet.of(Status.Code.UNAVAILABLE, Status.Code.INTERNAL,
      Status.Code.CANCELLED, Status.Code.DEADLINE_EXCEEDED, Status.Code.UNKNOWN);

  public enum Verdict { FINISHED, SESSION_FAILED, LOST }

  /** Whom a loss is reported against. */
  public enum Blame {
    /** Nobody: the upstream is alive, or the status says nothing about reachability. */
    NONE,
    /** The node: it leaves placement until it registers again. */
    NODE,
    /** The center gateway: the next borrow prefers another replica; the lease is kept. */
    CENTER
  }

  public record Loss(Verdict verdict, Blame blame) {}

  /**
   * @param rebuilding the upstream was sent a rebuilt open it has not answered yet
   * @param upstreamSaysLost the stream's trailers carry {@link #UPSTREAM_LOST_TRAILER}
   * @param spilled the upstream is a center gateway
   */
  public static Loss classify(Status.Code code, boolean rebuilding, boolean upstreamSaysLost, boolean spilled) {
    if (code == Status.Code.OK) {
      return new Loss(Verdict.FINISHED, Blame.NONE);
    }
    if (!LOST.contains(code) && !rebuilding) {
      return new Loss(Verdict.SESSION_FAILED, Blame.NONE);
    }
    Blame blame = code != Status.Code.UNAVAILABLE || upstreamSaysLost ? Blame.NONE
        : spilled ? Blame.CENTER : Blame.NODE;
    return new Loss(Verdict.LOST, blame);
  }
}
