package io.spillway.pool.failover;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Dim3;
import io.spillway.protocol.v1.Fill;
import io.spillway.protocol.v1.LaunchRaw;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Write;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The journal's per-session and per-gateway bounds hold for every op kind, including for a client that
 * never synchronizes: past them the journal stops (the session is told once) rather than grow.
 */
class JournalBoundsTest {

  private long seq;

  private Op alloc(long h, long bytes) {
    return Op.newBuilder().setSeq(++seq).setAlloc(Alloc.newBuilder().setHandle(h).setBytes(bytes)).build();
  }

  /** A few ops of every kind that a client might send without ever synchronizing. */
  private List<Op> mixedFrame() {
    List<Op> ops = new ArrayList<>();
    ops.add(Op.newBuilder().setSeq(++seq).setWrite(Write.newBuilder().setHandle(1)
        .setData(ByteString.copyFrom(new byte[4096]))).build());
    ops.add(Op.newBuilder().setSeq(++seq).setFill(Fill.newBuilder().setHandle(1).setBytes(64)).build());
    ops.add(Op.newBuilder().setSeq(++seq).setLaunchRaw(LaunchRaw.newBuilder().setModule(9).setFunction("k")
        .setGrid(Dim3.newBuilder().setX(1)).setBlock(Dim3.newBuilder().setX(1))
        .setParams(ByteString.copyFrom(new byte[256]))).build());
    ops.add(Op.newBuilder().setSeq(++seq).setFree(io.spillway.protocol.v1.Free.newBuilder().setHandle(77)).build());
    return ops;
  }

  @Test
  void aClientThatNeverSynchronizesStaysWithinTheSessionBound() {
    long bound = 256 * 1024;
    JournalBudget budget = new JournalBudget(() -> Long.MAX_VALUE);
    SessionJournal j = new SessionJournal(bound, budget);
    j.onClientOps(List.of(alloc(1, 1 << 20)));
    String notice = null;
    for (int i = 0; i < 2000; i++) {
      String n = j.onClientOps(mixedFrame());
      notice = notice != null ? notice : (n != null && n.contains("can no longer") ? n : null);
      assertTrue(j.bytes() <= bound, "journal holds " + j.bytes() + " bytes past its bound " + bound);
      assertTrue(budget.bytes() <= bound, "budget charged " + budget.bytes());
    }
    assertNotNull(notice, "the session was not told that its journal stopped");
    assertTrue(notice.contains("journal bound of " + bound), notice);
    assertNotNull(j.whyNotReplayable());
  }

  @Test
  void theGatewayBoundHoldsAcrossSessionsAndFolds() {
    long gatewayBound = 512 * 1024;
    JournalBudget budget = new JournalBudget(() -> gatewayBound);
    List<SessionJournal> sessions = new ArrayList<>();
    for (int s = 0; s < 8; s++) {
      SessionJournal j = new SessionJournal(1 << 20, budget);
      j.onClientOps(List.of(alloc(1, 1 << 20)));
      sessions.add(j);
    }
    for (int round = 0; round < 400; round++) {
      for (SessionJournal j : sessions) {
        j.onClientOps(mixedFrame());
        if (round % 50 == 49) {
          Op sync = Op.newBuilder().setSeq(++seq).setSynchronize(Synchronize.getDefaultInstance()).build();
          j.onClientOps(List.of(sync));
          j.answered(sync.getSeq()); // folds the tail into the base
        }
        assertTrue(budget.bytes() <= gatewayBound, "gateway budget at " + budget.bytes() + " past "
            + gatewayBound);
      }
    }
    sessions.forEach(SessionJournal::close);
    assertTrue(budget.bytes() == 0, "bytes left in the budget after every session closed: " + budget.bytes());
  }
}
