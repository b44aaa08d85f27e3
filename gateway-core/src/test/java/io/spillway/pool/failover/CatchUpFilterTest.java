package io.spillway.pool.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.ByteString;
import io.spillway.pool.failover.CatchUpFilter.CatchUp;
import io.spillway.pool.failover.CatchUpFilter.Step;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.ReadData;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import io.spillway.protocol.v1.Synchronized;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CatchUpFilterTest {

  private static Reply error(long seq) {
    return Reply.newBuilder().setSeq(seq).setError(Error.newBuilder().setCode(3).setOp("launch")
        .setDescription("bad launch " + seq)).build();
  }

  private static Reply sync(long seq) {
    return Reply.newBuilder().setSeq(seq).setSynchronized(Synchronized.getDefaultInstance()).build();
  }

  private static Reply read(long seq, long offset, String data, boolean last) {
    return Reply.newBuilder().setSeq(seq).setReadData(ReadData.newBuilder().setOffset(offset)
        .setData(ByteString.copyFromUtf8(data)).setLast(last)).build();
  }

  private static ServerFrame frame(Reply... replies) {
    return ServerFrame.newBuilder().addAllReplies(List.of(replies)).build();
  }

  @Test
  void anErrorOfTheJournalsBaseFailsTheRebuildAndNothingReachesTheClient() {
    CatchUp at = new CatchUp(10, 20, Set.of(), -1, 0, 0);
    Step step = CatchUpFilter.apply(at, frame(sync(11), error(7)));
    assertEquals(7, step.rebuildFailed().getSeq());
    assertEquals(0, step.out().getRepliesCount());
  }

  @Test
  void errorsTheClientHasAreDroppedNewOnesPassAndTheTailsAnswerEndsTheCatchUp() {
    CatchUp at = new CatchUp(10, 20, Set.of(12L), -1, 0, 0);
    Step step = CatchUpFilter.apply(at, frame(error(12), error(13)));
    assertNull(step.rebuildFailed());
    assertEquals(List.of(error(13)), step.out().getRepliesList());
    assertEquals(1, step.errors());
    assertNotNull(step.next(), "op 20 is not answered yet");
    Step done = CatchUpFilter.apply(step.next(), frame(sync(20), sync(21)));
    assertEquals(List.of(sync(20), sync(21)), done.out().getRepliesList());
    assertNull(done.next());
  }

  @Test
  void aReadCutHalfwayResumesWhereTheClientsBytesEnd() {
    // Read seq 15 started at offset 100; the client has 4 of its bytes.
    CatchUp at = new CatchUp(10, 15, Set.of(), 15, 100, 4);
    Step first = CatchUpFilter.apply(at, frame(read(15, 100, "abc", false)));
    assertEquals(0, first.out().getRepliesCount(), "bytes the client has are not sent again");
    Step second = CatchUpFilter.apply(first.next(), frame(read(15, 103, "defg", false)));
    assertEquals(List.of(read(15, 104, "efg", false)), second.out().getRepliesList());
    assertEquals(7, second.readDelivered());
    Step last = CatchUpFilter.apply(second.next(), frame(read(15, 107, "h", true)));
    assertEquals(List.of(read(15, 107, "h", true)), last.out().getRepliesList());
    assertNull(last.next());
  }

  @Test
  void aFrameThatAnswersNothingLeavesTheStateAsItWas() {
    CatchUp at = new CatchUp(-1, 5, Set.of(), -1, 0, 0);
    Reply notice = Reply.newBuilder().setSeq(0).setNotice(io.spillway.protocol.v1.Notice.newBuilder()
        .setMessage("hello")).build();
    Step step = CatchUpFilter.apply(at, frame(notice));
    assertEquals(List.of(notice), step.out().getRepliesList());
    assertEquals(at, step.next());
    assertEquals(-1, step.readDelivered());
  }

  @Test
  void theRebuiltOpenIsSplitFromTheRestAndAnEarlierErrorIsARefusal() {
    Reply opened = Reply.newBuilder().setSeq(1).setOpened(Opened.newBuilder().setSessionId("n2-s")).build();
    CatchUpFilter.Reopen ok = CatchUpFilter.splitReopen(frame(sync(3), opened, error(4)));
    assertEquals("n2-s", ok.opened().getSessionId());
    assertNull(ok.refusal());
    assertEquals(List.of(sync(3), error(4)), ok.rest().getRepliesList());
    CatchUpFilter.Reopen refused = CatchUpFilter.splitReopen(frame(error(1), opened));
    assertNull(refused.opened());
    assertEquals(error(1), refused.refusal());
  }

  @Test
  void theFilterEndsAtTheLastTailOpOrTheBaseWhenTheTailIsEmpty() {
    io.spillway.protocol.v1.Op base = io.spillway.protocol.v1.Op.newBuilder().setSeq(4).build();
    io.spillway.protocol.v1.Op readOp = io.spillway.protocol.v1.Op.newBuilder().setSeq(9)
        .setRead(io.spillway.protocol.v1.Read.newBuilder().setOffset(64)).build();
    CatchUp noTail = CatchUp.of(List.of(base), List.of(), Set.of(), -1, 0);
    assertEquals(4, noTail.rebuildThrough());
    assertEquals(4, noTail.filterThrough());
    CatchUp nothing = CatchUp.of(List.of(), List.of(), Set.of(), -1, 0);
    assertEquals(-1, nothing.rebuildThrough());
    assertEquals(0, nothing.filterThrough());
    CatchUp reading = CatchUp.of(List.of(base), List.of(readOp), Set.of(), 9, 16);
    assertEquals(9, reading.filterThrough());
    assertEquals(64, reading.readFrom());
    assertEquals(16, reading.readBytes());
  }
}
