package io.spillway.node.schedule;

import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Shares one GPU's time among the sessions on it by start-time fair queuing (SFQ) of kernel launches.
 *
 * <p>A session's launch runs only while it holds the GPU's turn: {@link Share#acquire()} waits until
 * the turn is its own, the caller launches (and, when others share the GPU, waits for the kernel),
 * then {@link Share#release(long)} charges the elapsed time. Each share has a finish tag {@code F}; a
 * request gets the start tag {@code S = max(V, F)}, where {@code V} is the start tag of the launch last
 * served, and waiting requests are served in order of start tag. A launch that took {@code d}
 * nanoseconds advances its share's finish tag by {@code d / weight}. While all sessions are busy, each
 * therefore gets GPU time in proportion to its weight; an idle session accumulates no credit.
 *
 * <p>A session issues one launch at a time, so at the moment it releases the GPU its next launch is not
 * queued yet. Handing the turn to whoever waits would then alternate strictly between sessions,
 * whatever their weights. So when the releasing session's finish tag is below the best waiting start
 * tag (it would be served first if it were queued), the turn is held for it: it goes on if it comes
 * back, and the hold ends when it says it has no more work queued ({@link Share#pause()}, which the
 * node calls after each frame) or after a {@linkplain #GRACE_NANOS grace}, whichever comes first.
 * Waiters are not woken while the turn is held for another, so they do not compete for the lock with
 * the session the turn is held for; the first in line rechecks at the grace's end.
 *
 * <p>Weights: a session with a reserved compute percent {@code p} weighs {@code p}. Sessions without a
 * reservation share, as one group, what the reservations leave ({@code 100 - sum(p)}, at least 1), in
 * equal parts. Weights are read when a launch is charged, so they follow sessions coming and going.
 *
 * <p>Thread-safety: all methods are thread-safe; one share is used by one thread at a time.
 */
public final class FairShareScheduler {

  /** How long the turn is held for a favoured session that just released it. */
  static final long GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  private final String gpu;
  // Fair: otherwise a session that releases and re-acquires at once barges back into the lock before
  // a waiting session has even queued its request, and the scheduler never sees the contention.
  private final ReentrantLock lock = new ReentrantLock(true);
  private final Condition changed = lock.newCondition();
  private final PriorityQueue<Waiter> waiting =
      new PriorityQueue<>((a, b) -> a.startTag != b.startTag
          ? Double.compare(a.startTag, b.startTag) : Long.compare(a.arrival, b.arrival));
  private double virtualTime;
  private boolean busy;
  private Share heldFor;
  private long heldUntil;
  private long arrivals;
  private int reservedPercent;
  private int reservedShares;
  private int bestEffortShares;
  /** Sessions registered; read without the lock by {@link Share#alone()}. */
  private volatile int registered;

  public FairShareScheduler(String gpu) {
    this.gpu = gpu;
  }

  public String gpu() {
    return gpu;
  }

  /** Registers a session on this GPU; {@code computePercent} 0 means no reservation. */
  public Share register(String sessionId, int computePercent) {
    if (computePercent < 0 || computePercent > 100) {
      throw new IllegalArgumentException("compute percent must be 0..100, got " + computePercent);
    }
    lock.lock();
    try {
      if (computePercent == 0) {
        bestEffortShares++;
      } else {
        reservedPercent += computePercent;
        reservedShares++;
      }
      registered++;
      return new Share(sessionId, computePercent, virtualTime);
    } finally {
      lock.unlock();
    }
  }

  private double weight(Share share) {
    if (share.computePercent > 0) {
      return share.computePercent;
    }
    return Math.max(1, 100 - reservedPercent) / (double) Math.max(1, bestEffortShares);
  }

  /** True if the turn is free for {@code share}, given the grace held for another. Lock held. */
  private boolean freeFor(Share share, long now) {
    return !busy && (heldFor == null || heldFor == share || now - heldUntil >= 0);
  }

  private void take(Share share, double start) {
    busy = true;
    heldFor = null;
    virtualTime = start;
    share.currentStart = start;
  }

  /** A session's place in the scheduler. */
  public final class Share implements AutoCloseable {
    private final String sessionId;
    private final int computePercent;
    private double finishTag;
    private double currentStart;
    private boolean closed;
    private long busyNanos;
    private long launches;

    private Share(String sessionId, int computePercent, double finishTag) {
      this.sessionId = sessionId;
      this.computePercent = computePercent;
      this.finishTag = finishTag;
    }

    /**
     * Waits for this session's turn on the GPU, at most {@code timeoutNanos}.
     *
     * @return false if the wait timed out (the caller fails the launch as {@code UNAVAILABLE})
     */
    public boolean acquire(long timeoutNanos) throws InterruptedException {
      lock.lock();
      try {
        double start = Math.max(virtualTime, finishTag);
        long now = System.nanoTime();
        if (freeFor(this, now) && (waiting.isEmpty() || heldFor == this)) {
          take(this, start);
          return true;
        }
        Waiter me = new Waiter(start, arrivals++);
        waiting.add(me);
        long deadline = now + timeoutNanos;
        try {
          while (true) {
            now = System.nanoTime();
            if (waiting.peek() == me && freeFor(this, now)) {
              waiting.poll();
              take(this, start);
              return true;
            }
            long left = deadline - now;
            if (left <= 0) {
              waiting.remove(me);
              changed.signalAll();
              return false;
            }
            if (waiting.peek() == me) {
              // The first in line cannot rely on a signal when a hold ends by its grace.
              left = Math.min(left, !busy && heldFor != null ? Math.max(1, heldUntil - now) : GRACE_NANOS);
            }
            changed.awaitNanos(left);
          }
        } catch (InterruptedException e) {
          waiting.remove(me);
          changed.signalAll();
          throw e;
        }
      } finally {
        lock.unlock();
      }
    }

    public boolean acquire() throws InterruptedException {
      return acquire(TimeUnit.SECONDS.toNanos(60));
    }

    /** Ends this session's turn, charging {@code elapsedNanos} of GPU time to it. */
    public void release(long elapsedNanos) {
      lock.lock();
      try {
        long d = Math.max(0, elapsedNanos);
        finishTag = currentStart + d / weight(this);
        busyNanos += d;
        launches++;
        busy = false;
        Waiter best = waiting.peek();
        if (best != null && finishTag < best.startTag) {
          heldFor = this;
          heldUntil = System.nanoTime() + GRACE_NANOS;
        } else {
          heldFor = null;
          changed.signalAll();
        }
      } finally {
        lock.unlock();
      }
    }

    /** Says this session has no launch queued: a turn held for it goes to the next in line now. */
    public void pause() {
      lock.lock();
      try {
        if (heldFor == this) {
          heldFor = null;
          changed.signalAll();
        }
      } finally {
        lock.unlock();
      }
    }

    /** GPU time charged to this session so far, in nanoseconds. */
    public long busyNanos() {
      lock.lock();
      try {
        return busyNanos;
      } finally {
        lock.unlock();
      }
    }

    public long launches() {
      lock.lock();
      try {
        return launches;
      } finally {
        lock.unlock();
      }
    }

    /** True while another session is registered on this GPU. */
    public boolean shared() {
      return registered > 1;
    }

    /**
     * True while this is the only session on the GPU: its launches need no turn. Read without a lock; a
     * session registering meanwhile at worst sees one more launch run outside the queue.
     */
    public boolean alone() {
      return registered <= 1;
    }

    /** Records GPU time used outside the queue (a launch made while {@link #alone()}). */
    public void charge(long elapsedNanos) {
      lock.lock();
      try {
        busyNanos += Math.max(0, elapsedNanos);
        launches++;
        finishTag = Math.max(finishTag, virtualTime) + Math.max(0, elapsedNanos) / weight(this);
      } finally {
        lock.unlock();
      }
    }

    public int computePercent() {
      return computePercent;
    }

    public String sessionId() {
      return sessionId;
    }

    /** Unregisters the session; it must not hold the turn. Idempotent. */
    @Override
    public void close() {
      lock.lock();
      try {
        if (closed) {
          return;
        }
        closed = true;
        if (heldFor == this) {
          heldFor = null;
          changed.signalAll();
        }
        if (computePercent == 0) {
          bestEffortShares--;
        } else {
          reservedPercent -= computePercent;
          reservedShares--;
        }
        registered--;
      } finally {
        lock.unlock();
      }
    }
  }

  private record Waiter(double startTag, long arrival) {}
}
