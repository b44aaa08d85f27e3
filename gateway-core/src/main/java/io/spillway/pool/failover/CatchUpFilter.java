package io.spillway.pool.failover;

import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.ReadData;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.util.List;
import java.util.Set;

/**
 * The replies of a rebuilt upstream, less what the client already has, until the rebuild has caught up
 * with the old stream. A pure function of what the journal knew when the rebuild began and the replies.
 */
public final class CatchUpFilter {
  private CatchUpFilter() {}

  /**
   * Where a rebuild stands.
   *
   * @param rebuildThrough the last op of the journal's base (-1: no base); an error at or before it
   *     means the session cannot be rebuilt there
   * @param filterThrough the op whose answer ends the catch-up
   * @param deliveredErrors tail ops whose errors the client has already
   * @param readSeq the read whose data the client has partly (-1: none)
   * @param readFrom the offset that read started at
   * @param readBytes how many of its bytes the client has
   */
  public record CatchUp(long rebuildThrough, long filterThrough, Set<Long> deliveredErrors, long readSeq,
      long readFrom, long readBytes) {

    static CatchUp of(List<io.spillway.protocol.v1.Op> base, List<io.spillway.protocol.v1.Op> tail,
        Set<Long> failedInTail, long readSeq, long readBytes) {
      long rebuildThrough = base.isEmpty() ? -1 : base.get(base.size() - 1).getSeq();
      long filterThrough = tail.isEmpty() ? Math.max(0, rebuildThrough) : tail.get(tail.size() - 1).getSeq();
      long readFrom = 0;
      for (io.spillway.protocol.v1.Op op : tail) {
        if (op.getSeq() == readSeq && op.hasRead()) {
          readFrom = op.getRead().getOffset();
        }
      }
      return new CatchUp(rebuildThrough, filterThrough, failedInTail, readSeq, readFrom, readBytes);
    }
  }

  /**
   * What one frame of the rebuilt upstream comes to.
   *
   * @param out the replies for the client (possibly none)
   * @param errors how many of them are errors
   * @param rebuildFailed an error the new upstream gave to an op of the journal's base: the rebuild
   *     failed and nothing is to be sent; null otherwise
   * @param next where the rebuild stands after this frame; null once it has caught up
   * @param readDelivered bytes of the partly delivered read the client has after this frame, or -1 if
   *     the frame did not continue it
   */
  public record Step(ServerFrame out, int errors, Reply rebuildFailed, CatchUp next, long readDelivered) {}

  public static Step apply(CatchUp at, ServerFrame in) {
    ServerFrame.Builder out = ServerFrame.newBuilder();
    long answeredSeq = -1;
    int errs = 0;
    long readBytes = at.readBytes();
    long readDelivered = -1;
    for (Reply r : in.getRepliesList()) {
      switch (r.getKindCase()) {
        case OPENED -> { }
        case ERROR -> {
          if (r.getSeq() <= at.rebuildThrough()) {
            return new Step(ServerFrame.getDefaultInstance(), 0, r, at, -1);
          }
          if (!at.deliveredErrors().contains(r.getSeq())) {
            out.addReplies(r);
            errs++;
          }
          // The node got this far: ops up to it are done.
          answeredSeq = Math.max(answeredSeq, r.getSeq());
        }
        case READ_DATA -> {
          ReadData d = r.getReadData();
          if (r.getSeq() == at.readSeq()) {
            long delivered = at.readFrom() + readBytes;
            long start = d.getOffset();
            long end = start + d.getData().size();
            if (end <= delivered && !d.getLast()) {
              continue;
            }
            if (start < delivered) {
              int skip = (int) Math.min(d.getData().size(), delivered - start);
              d = d.toBuilder().setOffset(start + skip).setData(d.getData().substring(skip)).build();
            }
            readBytes = Math.max(readBytes, end - at.readFrom());
            if (!d.getLast()) {
              readDelivered = readBytes;
            }
          }
          if (d.getData().isEmpty() && !d.getLast()) {
            continue;
          }
          out.addReplies(r.toBuilder().setReadData(d));
          if (d.getLast()) {
            answeredSeq = Math.max(answeredSeq, r.getSeq());
          }
        }
        case SYNCHRONIZED, CLOSED, GLOBAL_INFO, ELAPSED -> {
          // A variable binding the base replays was answered long ago.
          if (r.getSeq() > at.rebuildThrough()) {
            out.addReplies(r);
            answeredSeq = Math.max(answeredSeq, r.getSeq());
          }
        }
        default -> out.addReplies(r);
      }
    }
    CatchUp next = answeredSeq >= at.filterThrough() ? null
        : new CatchUp(at.rebuildThrough(), at.filterThrough(), at.deliveredErrors(), at.readSeq(), at.readFrom(),
            readBytes);
    return new Step(out.build(), errs, null, next, readDelivered);
  }

  /**
   * The rebuilt upstream's answer to its open, split.
   *
   * @param opened the new Opened, or null if this frame has none
   * @param refusal an error that came before the Opened: the new upstream refused the session
   * @param rest the other replies, to be filtered
   */
  public record Reopen(Opened opened, Reply refusal, ServerFrame rest) {}

  public static Reopen splitReopen(ServerFrame in) {
    ServerFrame.Builder rest = ServerFrame.newBuilder();
    Opened opened = null;
    for (Reply r : in.getRepliesList()) {
      if (r.hasOpened()) {
        opened = r.getOpened();
      } else if (r.hasError() && opened == null) {
        return new Reopen(null, r, ServerFrame.getDefaultInstance());
      } else {
        rest.addReplies(r);
      }
    }
    return new Reopen(opened, null, rest.build());
  }
}
