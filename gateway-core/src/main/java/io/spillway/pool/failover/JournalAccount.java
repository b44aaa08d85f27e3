package io.spillway.pool.failover;

/**
 * The bytes one session's journal holds, in its base and in its tail, and their draw on the gateway's
 * {@link SessionJournal.Budget}. Every byte counted here is held from the budget, and given back when it
 * leaves the journal.
 *
 * <p>The base never takes from the budget: it grows only while a completed tail op folds into it, and
 * never by more than that op's tail entry was charged (a write keeps its data, a copy or free
 * {@link #OP_OVERHEAD}), so it is paid from that entry's bytes (the fold's <em>credit</em>); what the
 * base did not use goes back to the budget when the fold ends.
 *
 * <p>Not thread-safe: used only on its session's serializing executor, through its
 * {@link SessionJournal}.
 */
final class JournalAccount {
  /** Bytes charged per op besides its payload (the op's own fields). */
  static final long OP_OVERHEAD = 64;

  private final long maxBytes;
  private final SessionJournal.Budget budget;
  private long baseBytes;
  private long tailBytes;
  /** While an op folds: what its tail entry was charged and the base has not used yet. */
  private long credit;

  JournalAccount(long maxBytes, SessionJournal.Budget budget) {
    this.maxBytes = maxBytes;
    this.budget = budget;
  }

  long maxBytes() {
    return maxBytes;
  }

  /** Scratch data since the last synchronizing call: at most a quarter of the session's bound. */
  long maxTailBytes() {
    return maxBytes / 4;
  }

  long bytes() {
    return baseBytes + tailBytes;
  }

  /** Whether {@code bytes} more stay within the session's bound. */
  boolean fitsSession(long bytes) {
    return baseBytes + tailBytes + bytes <= maxBytes;
  }

  /** Whether {@code bytes} more of scratch data stay within the tail's bound. */
  boolean fitsTail(long bytes) {
    return tailBytes + bytes <= maxTailBytes();
  }

  /** Takes {@code bytes} for a tail entry from the budget; false (and nothing taken) if it refuses. */
  boolean takeForTail(long bytes) {
    if (!budget.tryTake(bytes)) {
      return false;
    }
    tailBytes += bytes;
    return true;
  }

  /** A tail entry of {@code entryBytes} leaves the tail to fold: its bytes become the fold's credit. */
  void beginFold(long entryBytes) {
    tailBytes -= entryBytes;
    credit = entryBytes;
  }

  /** The fold is over: what the base did not use of its credit goes back to the budget. */
  void endFold() {
    budget.give(credit);
    credit = 0;
  }

  /** Charges the base {@code bytes} (negative: the base dropped them, and the budget gets them back). */
  void chargeBase(long bytes) {
    baseBytes += bytes;
    if (bytes <= 0) {
      budget.give(-bytes);
      return;
    }
    long fromCredit = Math.min(credit, bytes);
    credit -= fromCredit;
    if (bytes > fromCredit) {
      budget.give(-(bytes - fromCredit)); // not reached: see the class comment
    }
  }

  /** Gives every byte back to the budget; the journal's base and tail are dropped with it. */
  void giveAll() {
    budget.give(baseBytes + tailBytes);
    baseBytes = 0;
    tailBytes = 0;
  }
}
