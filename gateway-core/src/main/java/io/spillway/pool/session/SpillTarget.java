package io.spillway.pool.session;

import io.grpc.Status;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.placement.SliceRequest;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Where an edge gateway borrows capacity when its own pool cannot take a session: the center, through a
 * lease. Implementations own the lease's life: renewing it while the session runs, giving it back when
 * the session ends, and telling the session when the lease is lost.
 */
public interface SpillTarget {

  /** Capacity borrowed for one session: where to open it and under which lease. */
  record Spill(String centerAddress, String leaseId, long epoch) {}

  /** True when the session should go to the center without trying the local pool (a utilization policy). */
  boolean spillFirst(PoolSnapshot local);

  /**
   * Borrows capacity for {@code request}. Completes with the spill, or exceptionally with a
   * {@link io.grpc.StatusException} whose description says what the center has free. Must not block.
   *
   * @param lost called if the lease is lost while the session runs (expired, revoked, not renewable)
   */
  CompletableFuture<Spill> borrow(SessionId session, SliceRequest request, Consumer<Status> lost);

  /** The session ended or moved elsewhere: the lease can go back. Idempotent. */
  void giveBack(Spill spill);

  /**
   * The session's stream to {@code spill.centerAddress()} broke with {@code UNAVAILABLE} (the center
   * gateway died, or the link to it): the next borrow should prefer another center replica, and a
   * fault-tolerance policy may count it as a failure of the center. The session itself is replayed by the
   * gateway (it gives this spill back and borrows again).
   */
  default void unreachable(Spill spill, io.grpc.Status status) {}

  /**
   * The same lease reached through a center replica (another one if one is not reported unreachable),
   * for a session whose center gateway or link (not its GPU) was lost: any replica admits a session under
   * any live lease, so the session can go on on the same cards without a new grant. Empty when the lease
   * is no longer usable; the caller then gives the spill back and borrows again.
   */
  default java.util.Optional<Spill> elsewhere(Spill spill) {
    return java.util.Optional.empty();
  }
}
