package io.spillway.pool.session;

import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.Slice;
import io.spillway.protocol.v1.Open;
import io.spillway.security.Caller;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * How a center gateway admits a session that an edge opens under a lease: the session runs on the
 * cards the lease holds, and only while the lease is live at the epoch the edge names.
 */
public interface LeaseAuthority {

  /**
   * A session that arrives under a lease.
   *
   * @param caller who opened the call, read at its start ({@code Caller.PEER} is the edge's proven
   *     identity where the transport proves one)
   * @param open the session's open op, as the edge sent it
   */
  record Presented(SessionId session, String leaseId, long epoch, Caller caller, Open open) {}

  /**
   * The cards of lease {@code leaseId}, if it is live at {@code epoch}. Completes exceptionally with a
   * {@link io.grpc.StatusException} saying why not (for example {@code FAILED_PRECONDITION: lease x is
   * EXPIRED}). Must not block the caller; may complete on another thread.
   */
  CompletableFuture<List<Slice>> admit(String leaseId, long epoch, String edge);

  /**
   * Admits {@code presented.session()} under its lease, charging it to the lease; {@link #ended} gives the
   * charge back. The slices returned are what the session may use (their memory is what it was charged).
   * By default, {@link #admit(String, long, String)} with the open's tenant, charging nothing.
   */
  default CompletableFuture<List<Slice>> admit(Presented presented) {
    return admit(presented.leaseId(), presented.epoch(), presented.open().getTenant());
  }

  /** The session ended (or was never admitted): give back what it was charged. Idempotent; thread-safe. */
  default void ended(SessionId session) {}

  /**
   * True if the gateway runs no session except under a lease (a center: its capacity is all in the lease
   * book). An open without a lease is then refused.
   */
  default boolean leasesOnly() {
    return false;
  }
}
