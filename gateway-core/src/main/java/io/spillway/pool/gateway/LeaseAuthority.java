package io.spillway.pool.gateway;

import io.spillway.pool.placement.Slice;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * How a center gateway admits a session that an edge opens under a lease: the session runs on the
 * cards the lease holds, and only while the lease is live at the epoch the edge names.
 */
public interface LeaseAuthority {

  /**
   * The cards of lease {@code leaseId}, if it is live at {@code epoch}. Completes exceptionally with a
   * {@link io.grpc.StatusException} saying why not (for example {@code FAILED_PRECONDITION: lease x is
   * EXPIRED}). Must not block the caller; may complete on another thread.
   */
  CompletableFuture<List<Slice>> admit(String leaseId, long epoch, String edge);
}
