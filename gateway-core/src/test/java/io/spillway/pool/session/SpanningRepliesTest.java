package io.spillway.pool.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.protocol.v1.DeviceInfo;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.ReadData;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import io.spillway.protocol.v1.Synchronized;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpanningRepliesTest {

  private final List<List<Reply>> sent = new ArrayList<>();
  private final List<Opened> opened = new ArrayList<>();
  /** Two legs: session device 0 is device 0 of node a, session device 1 is device 0 of node b. */
  private final SpanningReplies replies = new SpanningReplies("s-1", List.of("a", "b"), new int[] {0, 1},
      new int[] {0, 0}, new SpanningReplies.Out() {
        @Override
        public void send(List<Reply> r) {
          sent.add(List.copyOf(r));
        }

        @Override
        public void opened(Opened merged) {
          opened.add(merged);
        }
      });

  private static ServerFrame frame(Reply... r) {
    return ServerFrame.newBuilder().addAllReplies(List.of(r)).build();
  }

  private static Reply sync(long seq, long failedOps) {
    return Reply.newBuilder().setSeq(seq).setSynchronized(Synchronized.newBuilder().setFailedOps(failedOps)).build();
  }

  private static Reply error(long seq, Status.Code code, boolean fatal) {
    return Reply.newBuilder().setSeq(seq).setError(Error.newBuilder().setCode(code.value()).setOp("x")
        .setDescription("e" + seq).setFatal(fatal)).build();
  }

  private List<Long> sentSeqs() {
    return sent.stream().flatMap(List::stream).map(Reply::getSeq).toList();
  }

  @Test
  void theOpenIsAnsweredOnceEveryLegOpenedWithDevicesInTheSessionsOrder() {
    replies.expect(1, Reply.KindCase.OPENED);
    Reply b = Reply.newBuilder().setSeq(1).setOpened(Opened.newBuilder().setSessionId("node-b-session")
        .addDevices(DeviceInfo.newBuilder().setNode("b").setIndex(0).setGpuUuid("gpu-b"))).build();
    Reply a = Reply.newBuilder().setSeq(1).setOpened(Opened.newBuilder().setSessionId("node-a-session")
        .addDevices(DeviceInfo.newBuilder().setNode("a").setIndex(0).setGpuUuid("gpu-a"))).build();
    assertNull(replies.fromLeg(1, frame(b)));
    assertTrue(sent.isEmpty(), "one leg's open is not the session's");
    assertTrue(replies.awaitsAnswers());
    assertNull(replies.fromLeg(0, frame(a)));
    assertEquals(1, sent.size());
    Opened merged = sent.get(0).get(0).getOpened();
    assertEquals("s-1", merged.getSessionId());
    assertEquals(List.of("gpu-a", "gpu-b"), merged.getDevicesList().stream().map(DeviceInfo::getGpuUuid).toList());
    assertEquals(List.of(0, 1), merged.getDevicesList().stream().map(DeviceInfo::getIndex).toList());
    assertEquals(List.of(merged), opened);
    assertTrue(!replies.awaitsAnswers());
  }

  @Test
  void repliesAfterABarrierWaitForItAndComeOutInSequenceOrder() {
    replies.expect(5, Reply.KindCase.SYNCHRONIZED);
    replies.fromLeg(0, frame(sync(5, 0), error(7, Status.Code.NOT_FOUND, false)));
    replies.fromLeg(0, frame(error(6, Status.Code.INVALID_ARGUMENT, false)));
    assertTrue(sent.isEmpty(), "errors of ops after seq 5 wait for leg b's answer to it");
    replies.fromLeg(1, frame(sync(5, 0)));
    assertEquals(List.of(5L, 6L, 7L), sentSeqs());
  }

  @Test
  void anOpSentToEveryLegGetsOneErrorAndCountsOnce() {
    replies.everyLeg(3);
    replies.expect(4, Reply.KindCase.SYNCHRONIZED);
    replies.fromLeg(0, frame(error(3, Status.Code.INVALID_ARGUMENT, false)));
    replies.fromLeg(1, frame(error(3, Status.Code.INVALID_ARGUMENT, false)));
    replies.fromLeg(0, frame(sync(4, 1)));
    replies.fromLeg(1, frame(sync(4, 1)));
    assertEquals(List.of(3L, 4L), sentSeqs());
    assertEquals(1, sent.get(sent.size() - 1).get(0).getSynchronized().getFailedOps());
  }

  @Test
  void aReplyMadeHereIsSentOnce() {
    replies.answerHere(error(0, Status.Code.RESOURCE_EXHAUSTED, false));
    assertEquals(1, sent.size());
    assertEquals(1, sent.get(0).size());
  }

  @Test
  void aReadStreamsOnceTheOtherLegsAnsweredItsBarrier() {
    replies.expect(9, Reply.KindCase.READ_DATA);
    Reply chunk = Reply.newBuilder().setSeq(9).setReadData(ReadData.newBuilder()).build();
    Reply last = Reply.newBuilder().setSeq(9).setReadData(ReadData.newBuilder().setLast(true)).build();
    replies.fromLeg(0, frame(chunk));
    assertTrue(sent.isEmpty(), "leg b has not answered the read's barrier");
    replies.fromLeg(1, frame(sync(9, 0)));
    assertEquals(List.of(9L), sentSeqs(), "the chunk that came first goes out once the barrier is answered");
    replies.fromLeg(0, frame(last));
    assertEquals(List.of(9L, 9L), sentSeqs());
    assertTrue(!replies.awaitsAnswers());
  }

  @Test
  void aLegThatRefusesTheOpenRefusesTheSession() {
    replies.expect(1, Reply.KindCase.OPENED);
    Status refused = replies.fromLeg(1, frame(error(1, Status.Code.RESOURCE_EXHAUSTED, true)));
    assertNotNull(refused);
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getCode());
    assertEquals(List.of(1L), sentSeqs(), "the client gets the leg's refusal");
  }
}
