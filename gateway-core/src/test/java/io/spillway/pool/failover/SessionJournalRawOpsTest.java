package io.spillway.pool.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Copy;
import io.spillway.protocol.v1.DevicePointer;
import io.spillway.protocol.v1.EventElapsed;
import io.spillway.protocol.v1.EventFree;
import io.spillway.protocol.v1.EventRecord;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.GetGlobal;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Launch;
import io.spillway.protocol.v1.LaunchRaw;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Memset;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.PointerSlot;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Unreplayable;
import io.spillway.protocol.v1.Write;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The journal of sessions that use protocol version 2: contents produced by raw launches, copies and
 * memsets are kept as the ops that produced them, module variables like persistent buffers, events as
 * marked replays; what the journal cannot reproduce makes the session unreplayable, never wrong.
 */
class SessionJournalRawOpsTest {

  private static final class Budget implements SessionJournal.Budget {
    final AtomicLong used = new AtomicLong();

    @Override
    public boolean tryTake(long bytes) {
      used.addAndGet(bytes);
      return true;
    }

    @Override
    public void give(long bytes) {
      used.addAndGet(-bytes);
    }
  }

  private static final String PLAIN_PTX = ".version 8.0\n.target sm_70\n.visible .entry k(.param .u64 p)\n"
      + "{\n ld.param.u64 %rd1, [p];\n ld.global.f32 %f1, [%rd1];\n ret;\n}\n";
  private static final String VARIABLES_PTX = ".version 8.0\n.target sm_70\n"
      + ".visible .global .align 4 .u32 counter;\n.const .align 4 .f32 scale[4];\n"
      + ".visible .entry k(.param .u64 p)\n{\n ret;\n}\n";

  private final Budget budget = new Budget();
  private final SessionJournal j = new SessionJournal(1 << 30, budget);
  private long seq;

  private Op op(Op.Builder b) {
    return b.setSeq(++seq).build();
  }

  private Op alloc(long h, long bytes) {
    return op(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(h).setBytes(bytes)));
  }

  private Op allocPersistent(long h, long bytes) {
    return op(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(h).setBytes(bytes).setPersistent(true)));
  }

  private Op write(long h, long offset, int bytes) {
    return op(Op.newBuilder().setWrite(Write.newBuilder().setHandle(h).setOffset(offset)
        .setData(ByteString.copyFrom(new byte[bytes]))));
  }

  private Op load(long m, String ptx) {
    return op(Op.newBuilder().setLoadModule(LoadModule.newBuilder().setModule(m).setImage(ByteString.copyFromUtf8(ptx))));
  }

  private Op raw(long module, Object... handleAccess) {
    LaunchRaw.Builder l = LaunchRaw.newBuilder().setModule(module).setFunction("k")
        .setParams(ByteString.copyFrom(new byte[8 * Math.max(1, handleAccess.length / 2)]));
    for (int i = 0; i < handleAccess.length; i += 2) {
      l.addPointers(PointerSlot.newBuilder().setParamOffset(4 * i).setHandle((Long) handleAccess[i])
          .setAccess((Access) handleAccess[i + 1]));
    }
    return op(Op.newBuilder().setLaunchRaw(l));
  }

  private Op typed(long module, long handle, Access access) {
    return op(Op.newBuilder().setLaunch(Launch.newBuilder().setModule(module).setFunction("k")
        .addArgs(KernelArg.newBuilder().setPtr(DevicePointer.newBuilder().setHandle(handle).setAccess(access)))));
  }

  private Op copy(long dst, long dstOffset, long src, long bytes) {
    return op(Op.newBuilder().setCopy(Copy.newBuilder().setDst(dst).setDstOffset(dstOffset).setSrc(src)
        .setBytes(bytes)));
  }

  private Op memset(long h, long offset, int width, long count) {
    return op(Op.newBuilder().setMemset(Memset.newBuilder().setHandle(h).setOffset(offset).setWidth(width)
        .setCount(count)));
  }

  private Op free(long h) {
    return op(Op.newBuilder().setFree(Free.newBuilder().setHandle(h)));
  }

  private Op read(long h) {
    return op(Op.newBuilder().setRead(Read.newBuilder().setHandle(h).setLength(4)));
  }

  /** Sends {@code ops} and a synchronize, and answers it: everything moves into the base. */
  private void completed(Op... ops) {
    Op s = op(Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance()));
    List<Op> all = new java.util.ArrayList<>(List.of(ops));
    all.add(s);
    assertNull(j.onClientOps(all));
    j.answered(s.getSeq());
    assertTrue(j.idle());
  }

  private List<Long> baseSeqs() {
    return j.rebuildOps().stream().map(Op::getSeq).toList();
  }

  @Test
  void aBufferWrittenByRawLaunchesKeepsEveryOpThatProducedItInOrder() {
    Op m = load(1, PLAIN_PTX);
    Op a = alloc(2, 64);
    Op b = alloc(3, 64);
    Op input = write(2, 0, 64);
    Op k1 = raw(1, 2L, Access.ACCESS_READ, 3L, Access.ACCESS_READ_WRITE);
    completed(m, a, b, input, k1);
    Op k2 = raw(1, 3L, Access.ACCESS_READ_WRITE);
    Op next = write(2, 0, 64); // a new input: k1 still needs the old one
    completed(k2, next);
    assertEquals(List.of(m.getSeq(), a.getSeq(), b.getSeq(), input.getSeq(), k1.getSeq(), k2.getSeq(),
        next.getSeq()), baseSeqs());
    assertNull(j.whyNotReplayable());
    assertEquals(j.bytes(), budget.used.get());
  }

  @Test
  void aChainOfInOutLaunchesKeepsOneOpPerLaunchUntilTheHostOverwritesTheBuffer() {
    Op m = load(1, PLAIN_PTX);
    Op state = alloc(2, 64);
    completed(m, state);
    long before = j.bytes();
    for (int i = 0; i < 100; i++) {
      completed(raw(1, 2L, Access.ACCESS_UNSPECIFIED));
    }
    assertEquals(102, j.rebuildOps().size(), "the module, the alloc and every launch");
    assertTrue(j.bytes() > before + 100 * 64, "each launch is charged: " + j.bytes());
    Op reset = memset(2, 0, 4, 16);
    completed(reset);
    assertEquals(List.of(m.getSeq(), state.getSeq(), reset.getSeq()), baseSeqs(),
        "a whole overwrite drops what produced the old contents");
    assertEquals(j.bytes(), budget.used.get());
  }

  @Test
  void aCopyKeepsItsSourceAndAFreedSourceIsReplayedWithItsFree() {
    Op a = alloc(1, 64);
    Op fill = write(1, 0, 64);
    Op b = alloc(2, 128);
    Op copy = copy(2, 64, 1, 64);
    Op freeA = free(1);
    completed(a, fill, b, copy, freeA);
    assertEquals(List.of(a.getSeq(), fill.getSeq(), b.getSeq(), copy.getSeq(), freeA.getSeq()), baseSeqs());
    assertNull(j.whyNotReplayable());
    Op clear = memset(2, 0, 1, 128);
    completed(clear);
    assertEquals(List.of(b.getSeq(), clear.getSeq()), baseSeqs(), "nothing needs the copy or buffer 1 now");
    assertEquals(j.bytes(), budget.used.get());
  }

  @Test
  void aHostWriteOfARangeReplacesTheWritesItCoversUnlessAKeptOpReadThem() {
    Op m = load(1, PLAIN_PTX);
    Op a = alloc(2, 64);
    Op b = alloc(3, 64);
    Op w1 = write(2, 0, 16);
    Op w2 = write(2, 16, 16);
    completed(m, a, b, w1, w2);
    Op w3 = write(2, 0, 32);
    completed(w3);
    assertEquals(List.of(m.getSeq(), a.getSeq(), b.getSeq(), w3.getSeq()), baseSeqs());
    Op k = raw(1, 2L, Access.ACCESS_READ, 3L, Access.ACCESS_WRITE);
    Op w4 = write(2, 0, 32);
    completed(k, w4);
    assertEquals(List.of(m.getSeq(), a.getSeq(), b.getSeq(), w3.getSeq(), k.getSeq(), w4.getSeq()), baseSeqs(),
        "the launch read w3, so w3 stays before it");
  }

  @Test
  void whatARawLaunchComputesFromATypedLaunchsOutputIsUnknownUntilOverwritten() {
    Op m = load(1, PLAIN_PTX);
    completed(m, alloc(2, 64), alloc(3, 64), typed(1, 2, Access.ACCESS_WRITE));
    completed(raw(1, 2L, Access.ACCESS_READ, 3L, Access.ACCESS_WRITE));
    String why = j.whyNotReplayable();
    assertNotNull(why);
    assertTrue(why.contains("buffer 3") && why.contains("buffer 2") && why.contains("not journaled"), why);
    j.onClientOps(List.of(write(3, 0, 64)));
    assertNull(j.whyNotReplayable(), "a whole overwrite in the tail is replayed, so buffer 3 is known again");
    j.onClientOps(List.of(read(2)));
    assertTrue(j.whyNotReplayable().contains("scratch buffer 2"), j.whyNotReplayable());
  }

  @Test
  void aRawLaunchMayWriteAPersistentBufferAndAPartialCopyIntoAnUnknownBufferDoesNotMakeItKnown() {
    Op m = load(1, PLAIN_PTX);
    Op w = allocPersistent(2, 64);
    Op upload = write(2, 0, 64);
    Op k = raw(1, 2L, Access.ACCESS_READ_WRITE);
    completed(m, w, upload, k);
    assertTrue(j.replayable(), "raw launches keep what they write: no reason to stop journaling");
    assertEquals(List.of(m.getSeq(), w.getSeq(), upload.getSeq(), k.getSeq()), baseSeqs());
    completed(alloc(3, 64), typed(1, 3, Access.ACCESS_WRITE), alloc(4, 64));
    completed(raw(1, 3L, Access.ACCESS_READ, 4L, Access.ACCESS_WRITE));
    completed(copy(4, 0, 2, 32));
    assertTrue(j.whyNotReplayable().contains("buffer 4"), j.whyNotReplayable());
    completed(copy(4, 0, 2, 64));
    assertNull(j.whyNotReplayable(), "a whole copy from known contents makes it known");
  }

  @Test
  void moduleVariablesAreJournaledAndEveryLaunchOfTheirModuleDependsOnThem() {
    Op m = load(1, VARIABLES_PTX);
    Op bind = op(Op.newBuilder().setGetGlobal(GetGlobal.newBuilder().setModule(1).setName("counter").setHandle(2)));
    assertNull(j.onClientOps(List.of(m, bind)));
    assertFalse(j.idle(), "get_global is answered");
    j.answered(bind.getSeq());
    Op set = write(2, 0, 4);
    Op k1 = raw(1);
    Op k2 = raw(1);
    Op again = write(2, 0, 4);
    completed(set, k1, k2, again);
    assertEquals(List.of(m.getSeq(), bind.getSeq(), set.getSeq(), k1.getSeq(), k2.getSeq(), again.getSeq()),
        baseSeqs(), "the kernels may have read and written the variables");
    Op plain = load(5, PLAIN_PTX);
    completed(plain, raw(5));
    assertEquals(7, baseSeqs().size(), "a launch of a module without variables that writes nothing is dropped");
    Op unbind = free(2);
    completed(unbind);
    assertTrue(baseSeqs().contains(unbind.getSeq()), "the binding is replayed for the writes, then unbound");
  }

  @Test
  void writesOfModuleVariablesOverTheBoundEndReplayForGood() {
    SessionJournal small = new SessionJournal(4096, new Budget());
    small.onClientOps(List.of(load(1, VARIABLES_PTX),
        op(Op.newBuilder().setGetGlobal(GetGlobal.newBuilder().setModule(1).setName("scale").setHandle(2)))));
    String notice = small.onClientOps(List.of(write(2, 0, 8192)));
    assertNotNull(notice);
    assertTrue(small.whyNotReplayable().contains("4096"), small.whyNotReplayable());
  }

  @Test
  void scratchDataOverTheTailBoundLeavesItsBufferUnknownInASessionThatUsesRawOps() {
    SessionJournal small = new SessionJournal(4L << 20, new Budget()); // tail bound: 1 MiB
    Op s1 = op(Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance()));
    small.onClientOps(List.of(load(1, PLAIN_PTX), alloc(2, 2 << 20), raw(1, 2L, Access.ACCESS_READ), s1));
    small.answered(s1.getSeq());
    assertNotNull(small.onClientOps(List.of(write(2, 0, 2 << 20))));
    Op s2 = op(Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance()));
    small.onClientOps(List.of(s2));
    small.answered(s2.getSeq());
    assertTrue(small.replayable(), "the tail is clear ...");
    assertTrue(small.whyNotReplayable().contains("buffer 2"), "... but buffer 2 lost its data: "
        + small.whyNotReplayable());
    small.onClientOps(List.of(free(2)));
    assertNull(small.whyNotReplayable(), "freed in the tail: nothing unknown is left");
  }

  @Test
  void eventsAreReplayedMarkedAndElapsedIsASynchronizingOp() {
    Op rec = op(Op.newBuilder().setEventRecord(EventRecord.newBuilder().setEvent(7)));
    completed(rec);
    List<Op> base = j.rebuildOps();
    assertEquals(1, base.size());
    assertTrue(base.get(0).getEventRecord().getReplayed(), "its time was taken on the old GPU");
    Op elapsed = op(Op.newBuilder().setEventElapsed(EventElapsed.newBuilder().setStart(7).setEnd(7)));
    j.onClientOps(List.of(elapsed));
    assertFalse(j.idle());
    j.answered(elapsed.getSeq());
    assertTrue(j.idle());
    completed(op(Op.newBuilder().setEventFree(EventFree.newBuilder().setEvent(7))));
    assertTrue(j.rebuildOps().isEmpty());
    assertEquals(0, j.bytes());
  }

  @Test
  void aClientThatSaysItsStateCannotMoveEndsReplay() {
    String notice = j.onClientOps(List.of(alloc(1, 64),
        op(Op.newBuilder().setUnreplayable(Unreplayable.newBuilder().setReason("pointer stored in buffer 1")))));
    assertNotNull(notice);
    assertFalse(j.replayable());
    assertTrue(j.whyNotReplayable().contains("pointer stored in buffer 1"), j.whyNotReplayable());
    assertEquals(0, budget.used.get());
  }

  @Test
  void moduleVariablesAreReadFromThePtxText() {
    assertEquals(new ModuleVariables(false, false), ModuleVariables.of(
        ByteString.copyFromUtf8(PLAIN_PTX)), "ld.global and .ptr .global in a parameter declare nothing");
    assertEquals(new ModuleVariables(true, true), ModuleVariables.of(
        ByteString.copyFromUtf8(VARIABLES_PTX)));
    assertEquals(new ModuleVariables(true, false), ModuleVariables.of(
        ByteString.copyFromUtf8(".version 8.0\n.const .align 4 .f32 c[4];\n// .global .u32 x;\n")));
    assertEquals(new ModuleVariables(true, true), ModuleVariables.of(
        ByteString.copyFrom(new byte[] {0x7f, 'E', 'L', 'F', 0})), "a cubin is assumed to have both");
  }
}
