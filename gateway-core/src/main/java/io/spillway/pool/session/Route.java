package io.spillway.pool.session;

import io.grpc.Status;
import io.spillway.pool.forward.RawFrame;

/**
 * Where an admitted session's frames go: one server ({@link DirectRoute}, rebuilt elsewhere when lost)
 * or several ({@link SpanningRoute}). Every method runs on the session's executor, never after the
 * session has ended, except {@link #release}.
 */
interface Route {
  void fromClient(RawFrame frame);

  void clientHalfClosed();

  /** The client can take more: ask the upstream for what was held back. */
  void clientReady();

  /** The client went away: the upstream streams are cancelled; the session ends after this. */
  void cancel(String why);

  /** What was under the session (its node, link or lease) was lost. */
  void lost(Status status);

  /** Lease {@code leaseId} was lost; the session moves if it still runs under it. */
  default void leaseLost(String leaseId, Status status) {}

  /** The gateway stops: the session ends with {@code status}, not rebuilt. */
  void shutdown(Status status);

  /** Spilled sessions, on the failback timer: look for local capacity. */
  default void tryFailBack() {}

  /** True while an op sent upstream still waits for its answer (a long kernel is not idleness). */
  default boolean awaitsAnswers() {
    return false;
  }

  /** The session has ended: give back what the route holds. */
  void release();
}
