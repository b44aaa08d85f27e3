package io.spillway.pool.failover;

import com.google.protobuf.InvalidProtocolBufferException;
import io.spillway.protocol.v1.Op;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The record of a session's ops since its last completed synchronizing call, in the order they were
 * sent, and how far the node's answers have come: the synchronizing ops still unanswered, the tail ops
 * whose errors reached the client, and the read whose answer was partly delivered. An op leaves the
 * tail (to fold into the base) once a synchronizing op at or after it has been answered.
 *
 * <p>The bytes of each entry are counted by the {@link JournalAccount}, not here.
 *
 * <p>Not thread-safe: used only on its session's serializing executor, through its
 * {@link SessionJournal}.
 */
final class JournalTail {

  /** A tail op and what it was charged; {@code stripped}: its data was not kept. */
  record Entry(Op op, long bytes, boolean stripped) {}

  private final ArrayDeque<Entry> entries = new ArrayDeque<>();
  private final ArrayDeque<Long> pendingSync = new ArrayDeque<>();
  /** Ops of the tail that failed (their errors reached the client). */
  private final Set<Long> failed = new HashSet<>();
  private int stripped;
  /** The read being answered when the last frame went to the client, and its bytes delivered so far. */
  private long readSeq = -1;
  private long readDelivered;

  void add(Entry e) {
    entries.add(e);
    if (e.stripped()) {
      stripped++;
    }
  }

  /** Entries in the tail whose data was not kept. */
  int stripped() {
    return stripped;
  }

  /** A synchronizing op ({@code seq}) was sent: the client waits for its answer. */
  void awaitAnswer(long seq) {
    pendingSync.add(seq);
  }

  /**
   * The ops of a frame alias one copy of its bytes. When some of them were not kept whole, the copy must
   * not live on through the others (it would hold bytes the bounds never charged): the last {@code n}
   * tail entries, this frame's, are copied out of it.
   */
  void unalias(int n) {
    ArrayDeque<Entry> mine = new ArrayDeque<>(n);
    for (int i = 0; i < n && !entries.isEmpty(); i++) {
      mine.push(entries.pollLast());
    }
    for (Entry e : mine) {
      entries.add(e.stripped() ? e : new Entry(copyOf(e.op()), e.bytes(), false));
    }
  }

  /** The op, parsed again into bytes of its own. */
  static Op copyOf(Op op) {
    try {
      return Op.parseFrom(op.toByteArray());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("an op the gateway parsed does not parse again", e);
    }
  }

  /**
   * The client got an error for op {@code seq}.
   *
   * @return whether that completes a synchronizing op (an error on one does), so that
   *     {@code seq} has been answered
   */
  boolean fail(long seq) {
    if (!entries.isEmpty() && seq >= entries.peekFirst().op().getSeq()) {
      failed.add(seq);
    }
    // A node answers in order: synchronizing ops before seq have been answered (or refused with their frame).
    while (!pendingSync.isEmpty() && pendingSync.peekFirst() < seq) {
      pendingSync.pollFirst();
    }
    return !pendingSync.isEmpty() && pendingSync.peekFirst() == seq;
  }

  boolean failed(long seq) {
    return failed.contains(seq);
  }

  /** Synchronizing op {@code seq} was answered: no op up to it waits any more. */
  void answeredUpTo(long seq) {
    while (!pendingSync.isEmpty() && pendingSync.peekFirst() <= seq) {
      pendingSync.pollFirst();
    }
  }

  /** Takes the oldest entry if it is done (at or before the answered {@code seq}), else null. */
  Entry pollDone(long seq) {
    if (entries.isEmpty() || entries.peekFirst().op().getSeq() > seq) {
      return null;
    }
    Entry e = entries.pollFirst();
    if (e.stripped()) {
      stripped--;
    }
    return e;
  }

  /** Every op up to {@code seq} has folded: their errors and a read among them are forgotten. */
  void doneUpTo(long seq) {
    failed.removeIf(s -> s <= seq);
    if (readSeq <= seq) {
      readSeq = -1;
      readDelivered = 0;
    }
  }

  /** {@code bytes} more of read {@code seq}'s answer, not its last, went to the client. */
  void readProgress(long seq, long bytes) {
    if (seq != readSeq) {
      readSeq = seq;
      readDelivered = 0;
    }
    readDelivered += bytes;
  }

  /** Bytes of read {@code seq} the client has now, after a rebuilt session resent part of it. */
  void readDelivered(long seq, long bytes) {
    readSeq = seq;
    readDelivered = bytes;
  }

  /** The read whose answer was partly delivered, or -1. */
  long partialReadSeq() {
    return readSeq;
  }

  /** How many bytes of {@link #partialReadSeq} the client has. */
  long partialReadBytes() {
    return readDelivered;
  }

  /** The ops of the tail, less those that failed. */
  List<Op> ops() {
    List<Op> ops = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      if (!failed.contains(e.op().getSeq())) {
        ops.add(e.op());
      }
    }
    return ops;
  }

  /** Sequence numbers of tail ops whose errors the client already has. */
  Set<Long> failedSeqs() {
    return Set.copyOf(failed);
  }

  /** No op in flight: every op sent has been answered by a synchronizing call. */
  boolean idle() {
    return entries.isEmpty() && pendingSync.isEmpty();
  }

  /** Drops every entry (their bytes are given back by the caller, all at once). */
  void clear() {
    entries.clear();
    stripped = 0;
  }
}
