package io.spillway.pool.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.DevicePointer;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Launch;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Write;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SessionJournalTest {

  /** A gateway budget with a bound, counting what is taken. */
  private static final class Budget implements SessionJournal.Budget {
    final AtomicLong used = new AtomicLong();
    final long limit;

    Budget(long limit) {
      this.limit = limit;
    }

    @Override
    public boolean tryTake(long bytes) {
      if (used.get() + bytes > limit) {
        return false;
      }
      used.addAndGet(bytes);
      return true;
    }

    @Override
    public void give(long bytes) {
      used.addAndGet(-bytes);
    }
  }

  private long seq;

  private Op op(Op.Builder b) {
    return b.setSeq(++seq).build();
  }

  private Op alloc(long h, long bytes, boolean persistent) {
    return op(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(h).setBytes(bytes).setPersistent(persistent)));
  }

  private Op write(long h, long offset, int bytes) {
    return op(Op.newBuilder().setWrite(Write.newBuilder().setHandle(h).setOffset(offset)
        .setData(ByteString.copyFrom(new byte[bytes]))));
  }

  private Op launch(Object... handleAccess) {
    Launch.Builder l = Launch.newBuilder().setModule(1).setFunction("k");
    for (int i = 0; i < handleAccess.length; i += 2) {
      l.addArgs(KernelArg.newBuilder().setPtr(DevicePointer.newBuilder().setHandle((Long) handleAccess[i])
          .setAccess((Access) handleAccess[i + 1])));
    }
    return op(Op.newBuilder().setLaunch(l));
  }

  private Op sync() {
    return op(Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance()));
  }

  private Op read(long h) {
    return op(Op.newBuilder().setRead(Read.newBuilder().setHandle(h).setLength(4)));
  }

  @Test
  void theBaseIsWhatTheCompletedOpsLeftInTheirOrder() {
    Budget budget = new Budget(1 << 30);
    SessionJournal j = new SessionJournal(1 << 30, budget);
    Op module = op(Op.newBuilder().setLoadModule(LoadModule.newBuilder().setModule(1)
        .setImage(ByteString.copyFromUtf8("ptx"))));
    Op w = alloc(2, 1024, true);
    Op scratch = alloc(3, 1024, false);
    Op weights = write(2, 0, 1024);
    Op gone = alloc(4, 64, true);
    Op goneWrite = write(4, 0, 64);
    Op free = op(Op.newBuilder().setFree(Free.newBuilder().setHandle(4)));
    Op s = sync();
    j.onClientOps(List.of(module, w, scratch, weights, gone, goneWrite, free, s));
    assertEquals(8, j.tailOps().size(), "nothing is done before the synchronize is answered");
    j.answered(s.getSeq());
    assertEquals(List.of(module.getSeq(), w.getSeq(), scratch.getSeq(), weights.getSeq()),
        j.rebuildOps().stream().map(Op::getSeq).toList(), "freed buffers and their contents are gone");
    assertTrue(j.tailOps().isEmpty());
    assertTrue(j.idle());
    assertTrue(j.bytes() >= 1024 + 3 && j.bytes() < 1024 + 1024, "contents plus module: " + j.bytes());
    assertEquals(j.bytes(), budget.used.get(), "the gateway budget holds exactly the journal");
    j.close();
    assertEquals(0, budget.used.get());
  }

  @Test
  void opsThatFailedAreNeitherRebuiltNorResent() {
    SessionJournal j = new SessionJournal(1 << 30, new Budget(1 << 30));
    Op ok = alloc(1, 64, false);
    Op failed = alloc(2, 1L << 40, false);
    Op pipelined = write(1, 0, 8);
    j.onClientOps(List.of(ok, failed, pipelined));
    j.failed(failed.getSeq());
    assertEquals(List.of(ok.getSeq(), pipelined.getSeq()), j.tailOps().stream().map(Op::getSeq).toList());
    Op s = sync();
    j.onClientOps(List.of(s));
    j.answered(s.getSeq());
    // The failed alloc is gone; the scratch write is kept as the buffer's host-written contents.
    assertEquals(List.of(ok.getSeq(), pipelined.getSeq()), j.rebuildOps().stream().map(Op::getSeq).toList());
  }

  @Test
  void aTailThatReadsScratchFromBeforeItIsRefusedAndOneThatRewritesItIsNot() {
    SessionJournal j = new SessionJournal(1 << 30, new Budget(1 << 30));
    // Buffer 2 is written by a typed launch: by the SDK's contract its contents are not journaled.
    List<Op> first = List.of(alloc(1, 64, true), alloc(2, 64, false), alloc(3, 64, false),
        launch(2L, Access.ACCESS_WRITE), sync());
    j.onClientOps(first);
    j.answered(first.get(first.size() - 1).getSeq());
    // Buffer 3 was never written: it reads as zeros on any GPU, so it may be read.
    j.onClientOps(List.of(launch(1L, Access.ACCESS_READ, 3L, Access.ACCESS_READ, 3L, Access.ACCESS_WRITE)));
    assertNull(j.whyNotReplayable());
    // Buffer 2 was written before the tail: reading it now cannot be replayed.
    j.onClientOps(List.of(launch(2L, Access.ACCESS_READ, 3L, Access.ACCESS_WRITE)));
    assertTrue(j.whyNotReplayable().contains("scratch buffer 2"), j.whyNotReplayable());
    Op s2 = sync();
    j.onClientOps(List.of(s2));
    j.answered(s2.getSeq());
    // Written again first, it can.
    j.onClientOps(List.of(write(2, 0, 64), launch(2L, Access.ACCESS_READ, 3L, Access.ACCESS_WRITE), read(3)));
    assertNull(j.whyNotReplayable());
    Op s3 = sync();
    j.onClientOps(List.of(s3));
    j.answered(s3.getSeq());
    // A read of a scratch buffer a kernel wrote before the tail cannot be replayed either.
    j.onClientOps(List.of(read(3)));
    assertNotNull(j.whyNotReplayable());
  }

  @Test
  void aKernelThatMayWriteAPersistentBufferEndsReplayForGood() {
    Budget budget = new Budget(1 << 30);
    SessionJournal j = new SessionJournal(1 << 30, budget);
    assertNull(j.onClientOps(List.of(alloc(1, 64, true), write(1, 0, 64),
        launch(1L, Access.ACCESS_READ))));
    String notice = j.onClientOps(List.of(launch(1L, Access.ACCESS_UNSPECIFIED)));
    assertNotNull(notice);
    assertTrue(notice.contains("persistent buffer 1"), notice);
    assertFalse(j.replayable());
    assertEquals(0, budget.used.get(), "the journal is dropped");
    Op s = sync();
    j.onClientOps(List.of(s));
    j.answered(s.getSeq());
    assertFalse(j.replayable(), "for good");
  }

  @Test
  void scratchOverTheGatewayBoundMakesTheSessionUnreplayableUntilItsNextSynchronize() {
    Budget budget = new Budget(4096);
    SessionJournal j = new SessionJournal(1 << 30, budget);
    j.onClientOps(List.of(alloc(1, 1 << 20, false)));
    String notice = j.onClientOps(List.of(write(1, 0, 64 << 10)));
    assertNotNull(notice);
    assertTrue(notice.contains("gateway"), notice);
    assertFalse(j.replayable());
    assertTrue(budget.used.get() <= 4096, "the bound holds: " + budget.used.get());
    Op s = sync();
    j.onClientOps(List.of(s));
    j.answered(s.getSeq());
    assertTrue(j.replayable(), "the next synchronizing call clears it");
    assertNull(j.whyNotReplayable());
  }

  @Test
  void persistentDataOverTheSessionBoundEndsReplayForGood() {
    SessionJournal j = new SessionJournal(8192, new Budget(1 << 30));
    String notice = j.onClientOps(List.of(alloc(1, 1 << 20, true), write(1, 0, 16 << 10)));
    assertNotNull(notice);
    assertTrue(j.whyNotReplayable().contains("8192"), j.whyNotReplayable());
  }

  @Test
  void aBulkUploadPastTheTailBoundIsJournaledWithoutItsData() {
    Budget budget = new Budget(1 << 30);
    SessionJournal j = new SessionJournal(4L << 20, budget); // tail bound: 1 MiB
    j.onClientOps(List.of(alloc(1, 8L << 20, false), alloc(2, 8L << 20, true)));
    List<io.spillway.pool.forward.FrameScan.WriteFacts> small =
        List.of(new io.spillway.pool.forward.FrameScan.WriteFacts(++seq, 1, 0, 64 << 10));
    assertFalse(j.dropsWithoutData(small), "fits the tail: its data is kept");
    List<io.spillway.pool.forward.FrameScan.WriteFacts> big =
        List.of(new io.spillway.pool.forward.FrameScan.WriteFacts(++seq, 1, 0, 2 << 20));
    assertTrue(j.dropsWithoutData(big));
    assertFalse(j.dropsWithoutData(List.of(new io.spillway.pool.forward.FrameScan.WriteFacts(seq + 1, 2, 0,
        2 << 20))), "persistent data is always kept");
    assertNotNull(j.onWritesWithoutData(big));
    assertFalse(j.replayable());
    assertTrue(budget.used.get() < 64 << 10, "no payload held: " + budget.used.get());
    Op s = sync();
    j.onClientOps(List.of(s));
    j.answered(s.getSeq());
    assertTrue(j.replayable());
  }
}
