package io.spillway.pool.failover;

import com.google.protobuf.CodedInputStream;
import io.spillway.pool.forward.FrameScan;
import io.spillway.pool.forward.RawFrame;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What the gateway records of one single-server session so that it can be rebuilt elsewhere: the
 * session's {@link SessionJournal}, fed with the frames as they pass. Not thread-safe: used only on its
 * session's serializing executor.
 */
public final class Recording {
  /** Largest frame of rebuild ops the gateway sends. */
  static final int REBUILD_FRAME_BYTES = 4 << 20;
  /** Most ops in a frame of rebuild ops: well under what nodes accept per frame (65536 by default). */
  static final int REBUILD_FRAME_OPS = 4096;

  private final SessionJournal journal;

  public Recording(long maxSessionBytes, JournalBudget budget) {
    this.journal = new SessionJournal(maxSessionBytes, budget);
  }

  /**
   * What one client frame was, as the journal saw it.
   *
   * @param notice what to tell the client (the journal passed its bound, the session stopped being
   *     replayable), or null
   */
  public record Up(int ops, long[] synchronizingSeqs, String notice) {
    public int synchronizing() {
      return synchronizingSeqs.length;
    }
  }

  private static final long[] NONE = new long[0];

  /** The ops of the first frame that follow its open. */
  public String onFirstFrame(ClientFrame first) {
    return journal.onClientOps(first.getOpsList().subList(1, first.getOpsCount()));
  }

  /**
   * Records a client frame on its way upstream. A bulk upload the journal's tail cannot keep is recorded
   * without its data and the frame is not copied; otherwise the journal keeps the ops, which alias one
   * copy of the frame's bytes. A frame the gateway cannot parse makes the session non-replayable; the
   * node answers it as malformed.
   */
  public Up onClientFrame(RawFrame frame) {
    List<FrameScan.WriteFacts> writes;
    try {
      writes = FrameScan.writesOnly(frame.reader());
      if (writes != null && journal.dropsWithoutData(writes)) {
        return new Up(writes.size(), NONE, journal.onWritesWithoutData(writes));
      }
      CodedInputStream in = frame.reader();
      byte[] bytes = in.readRawBytes(frame.size());
      CodedInputStream aliased = CodedInputStream.newInstance(bytes);
      aliased.enableAliasing(true);
      aliased.setSizeLimit(Integer.MAX_VALUE);
      List<Op> ops = ClientFrame.parseFrom(aliased).getOpsList();
      return new Up(ops.size(), synchronizing(ops), journal.onClientOps(ops));
    } catch (IOException e) {
      return new Up(0, NONE, journal.markUnreplayable("a client frame of " + frame.size()
          + " bytes could not be parsed (" + e.getMessage() + ")"));
    }
  }

  /** The seqs of the ops that wait for an answer (as {@link FrameScan#client} counts them). */
  static long[] synchronizing(List<Op> ops) {
    long[] seqs = new long[ops.size()];
    int n = 0;
    for (Op op : ops) {
      if (op.hasRead() || op.hasSynchronize() || op.hasClose() || op.hasGetGlobal() || op.hasEventElapsed()) {
        seqs[n++] = op.getSeq();
      }
    }
    return java.util.Arrays.copyOf(seqs, n);
  }

  /** What a frame forwarded as bytes to the client answered. */
  public void onServerFacts(FrameScan.ServerFacts facts) {
    journal.onServerFacts(facts);
  }

  /** What a parsed frame on its way to the client answered. */
  public void onReplies(ServerFrame frame) {
    for (Reply r : frame.getRepliesList()) {
      switch (r.getKindCase()) {
        case ERROR -> journal.failed(r.getSeq());
        case SYNCHRONIZED, CLOSED, GLOBAL_INFO, ELAPSED -> journal.answered(r.getSeq());
        case READ_DATA -> {
          if (r.getReadData().getLast()) {
            journal.answered(r.getSeq());
          }
        }
        default -> { }
      }
    }
  }

  /** Bytes of read {@code seq} the client has, after a rebuilt upstream resent part of it. */
  public void readDelivered(long seq, long bytes) {
    journal.readDelivered(seq, bytes);
  }

  /** Null if the session can be rebuilt now, else why not (for the client). */
  public String whyNotReplayable() {
    return journal.whyNotReplayable();
  }

  /** No op in flight. */
  public boolean idle() {
    return journal.idle();
  }

  public long bytes() {
    return journal.bytes();
  }

  /** Gives the journal's bytes back to the budget. */
  public void close() {
    journal.close();
  }

  /**
   * What to send a new upstream after its open, and how to filter its replies.
   *
   * @param frames the journal's base and then its tail, in frames of at most 4 MiB, base and tail never
   *     sharing a frame
   * @param baseOps ops in the base, tailOps ops in the tail
   * @param synchronizingInTail tail ops the client still waits for an answer to
   * @param synchronizingSeqs their seqs
   */
  public record Plan(List<ClientFrame> frames, int baseOps, int tailOps, int synchronizingInTail,
      CatchUpFilter.CatchUp catchUp, long[] synchronizingSeqs) {}

  /** Call only when {@link #whyNotReplayable()} is null. */
  public Plan plan() {
    List<Op> base = journal.rebuildOps();
    List<Op> tail = journal.tailOps();
    List<ClientFrame> frames = new ArrayList<>();
    batch(base, frames);
    batch(tail, frames);
    long[] sync = synchronizing(tail);
    return new Plan(frames, base.size(), tail.size(), sync.length, CatchUpFilter.CatchUp.of(base, tail,
        journal.failedInTail(), journal.partialReadSeq(), journal.partialReadBytes()), sync);
  }

  private static void batch(List<Op> ops, List<ClientFrame> into) {
    ClientFrame.Builder frame = ClientFrame.newBuilder();
    long bytes = 0;
    for (Op op : ops) {
      int size = op.getSerializedSize();
      if (frame.getOpsCount() > 0 && (bytes + size > REBUILD_FRAME_BYTES
          || frame.getOpsCount() >= REBUILD_FRAME_OPS)) {
        into.add(frame.build());
        frame = ClientFrame.newBuilder();
        bytes = 0;
      }
      frame.addOps(op);
      bytes += size;
    }
    if (frame.getOpsCount() > 0) {
      into.add(frame.build());
    }
  }
}
