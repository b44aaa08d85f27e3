package io.spillway.pool.failover;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The journal bytes all sessions of one gateway may hold together. Thread-safe: every session's
 * executor takes and gives concurrently.
 */
public final class JournalBudget implements SessionJournal.Budget {
  private final AtomicLong bytes = new AtomicLong();
  private final LongSupplier limit;

  /** @param limit the bound, read at every take (the gateway's failover settings can change) */
  public JournalBudget(LongSupplier limit) {
    this.limit = limit;
  }

  @Override
  public boolean tryTake(long wanted) {
    long max = limit.getAsLong();
    for (long now = bytes.get(); ; now = bytes.get()) {
      if (now + wanted > max) {
        return false;
      }
      if (bytes.compareAndSet(now, now + wanted)) {
        return true;
      }
    }
  }

  @Override
  public void give(long given) {
    bytes.addAndGet(-given);
  }

  /** Bytes held now. */
  public long bytes() {
    return bytes.get();
  }
}
