package io.spillway.pool.session;

import io.grpc.Status;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.SliceRequest;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * One session's calls to the spill target. Lease calls may block (they send to Kafka), so they run on
 * threads of the gateway's effects pool, never on a transport thread or the session's executor, one at a
 * time and in the order made; results come back on whatever thread completes them, and callers hand them
 * to the session's executor.
 */
final class SpillCalls {
  private final SessionHost host;
  private final SessionId session;
  private final SerialExecutor calls;

  SpillCalls(SessionHost host, SessionId session) {
    this.host = host;
    this.session = session;
    this.calls = new SerialExecutor(host.effects());
  }

  /**
   * Borrows center capacity for the session.
   *
   * @param leaseLost told (lease id, why) if the lease is lost while the session runs
   */
  CompletableFuture<SpillTarget.Spill> borrow(SliceRequest asked, BiConsumer<String, Status> leaseLost) {
    SpillTarget target = host.spillTarget();
    CompletableFuture<SpillTarget.Spill> result = new CompletableFuture<>();
    calls.execute(() -> {
      String[] lease = new String[1];
      try {
        target.borrow(session, asked, st -> leaseLost.accept(lease[0], st)).whenComplete((spill, error) -> {
          if (spill != null) {
            lease[0] = spill.leaseId();
            result.complete(spill);
          } else {
            result.completeExceptionally(error);
          }
        });
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    });
    return result;
  }

  void giveBack(SpillTarget.Spill spill) {
    SpillTarget target = host.spillTarget();
    calls.execute(() -> target.giveBack(spill));
  }

  /** The center gateway of {@code spill} is unreachable: later borrows prefer another replica. */
  void unreachable(SpillTarget.Spill spill, Status status) {
    SpillTarget target = host.spillTarget();
    calls.execute(() -> target.unreachable(spill, status));
  }

  /**
   * The lease of {@code held} through another center replica; when there is none the lease is given
   * back and the future completes empty.
   */
  CompletableFuture<Optional<SpillTarget.Spill>> elsewhere(SpillTarget.Spill held) {
    SpillTarget target = host.spillTarget();
    CompletableFuture<Optional<SpillTarget.Spill>> result = new CompletableFuture<>();
    calls.execute(() -> {
      Optional<SpillTarget.Spill> again;
      try {
        again = target.elsewhere(held);
      } catch (RuntimeException e) {
        again = Optional.empty();
      }
      if (again.isEmpty()) {
        target.giveBack(held);
      }
      result.complete(again);
    });
    return result;
  }
}
