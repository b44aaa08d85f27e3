package io.spillway.pool.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import io.spillway.node.fuzz.FuzzOps;
import io.spillway.pool.forward.FrameScan;
import io.spillway.pool.forward.RawFrame;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Closed;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.ReadData;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import io.spillway.protocol.v1.Synchronized;
import java.io.IOException;
import java.util.List;

/**
 * The edge's journal, fed what passes through a gateway: client frames of fuzzed ops (through
 * {@link Recording#onClientFrame}, as raw frames) and server frames answering them (as scanned facts or
 * parsed replies), for two sessions sharing one gateway budget. After every step: each session's journal
 * holds at most its bound, the gateway's budget holds at most its bound, never less than nothing, and
 * exactly what the journals hold; a session that says it can be rebuilt yields a plan that sends every
 * op it counts, in frames within the rebuild frame size. When the sessions end, every
 * byte is given back.
 */
class JournalFuzzTest {

  /** Small bounds, so that an input of a few hundred ops passes them (and the tail's quarter) often. */
  private static final long SESSION_BYTES = 8 << 10;
  private static final long GATEWAY_BYTES = 12 << 10;

  @FuzzTest(maxDuration = "20s")
  void boundsHold(FuzzedDataProvider data) throws IOException {
    JournalBudget budget = new JournalBudget(() -> GATEWAY_BYTES);
    Recording[] sessions = {new Recording(SESSION_BYTES, budget), new Recording(SESSION_BYTES, budget)};
    FuzzOps[] ops = {new FuzzOps(data, 4 << 10, 1, 2), new FuzzOps(data, 4 << 10, 1, 2)};
    while (data.remainingBytes() > 0) {
      int s = data.consumeInt(0, 1);
      Recording rec = sessions[s];
      switch (data.consumeInt(0, 5)) {
        case 0, 1, 2 -> {
          ClientFrame.Builder frame = ClientFrame.newBuilder();
          int n = data.consumeInt(1, 16);
          for (int i = 0; i < n && ops[s].more(); i++) {
            frame.addOps(ops[s].next());
          }
          rec.onClientFrame(RawFrame.of(frame.build()));
        }
        case 3 -> {
          ServerFrame answer = answer(data, ops[s].lastSeq());
          rec.onServerFacts(FrameScan.server(RawFrame.of(answer).reader()));
        }
        case 4 -> rec.onReplies(answer(data, ops[s].lastSeq()));
        default -> {
          if (rec.whyNotReplayable() == null) {
            checkPlan(rec.plan());
          }
        }
      }
      long held = 0;
      for (Recording r : sessions) {
        assertTrue(r.bytes() <= SESSION_BYTES, "a session's journal holds " + r.bytes() + " bytes, bound "
            + SESSION_BYTES);
        held += r.bytes();
      }
      assertTrue(budget.bytes() >= 0 && budget.bytes() <= GATEWAY_BYTES, "the gateway's journals hold "
          + budget.bytes() + " bytes, bound " + GATEWAY_BYTES);
      assertEquals(held, budget.bytes(), "the budget holds what the journals hold");
    }
    for (Recording r : sessions) {
      r.close();
    }
    assertEquals(0, budget.bytes(), "every byte is given back");
  }

  /** Replies up to a recent sequence number: synchronized, an error, read data (last or not), closed. */
  private static ServerFrame answer(FuzzedDataProvider data, long lastSeq) {
    ServerFrame.Builder frame = ServerFrame.newBuilder();
    int n = data.consumeInt(1, 4);
    for (int i = 0; i < n; i++) {
      long seq = Math.max(0, lastSeq - data.consumeInt(0, 8));
      Reply.Builder r = Reply.newBuilder().setSeq(seq);
      switch (data.consumeInt(0, 3)) {
        case 0 -> r.setSynchronized(Synchronized.getDefaultInstance());
        case 1 -> r.setError(Error.newBuilder().setCode(3).setDescription("fuzzed").setFatal(data.consumeBoolean()));
        case 2 -> r.setReadData(ReadData.newBuilder().setData(ByteString.copyFrom(new byte[data.consumeInt(0, 64)]))
            .setLast(data.consumeBoolean()));
        default -> r.setClosed(Closed.getDefaultInstance());
      }
      frame.addReplies(r);
    }
    return frame.build();
  }

  private static void checkPlan(Recording.Plan plan) {
    int sent = 0;
    for (ClientFrame f : plan.frames()) {
      assertTrue(f.getOpsCount() == 1 || f.getSerializedSize() <= Recording.REBUILD_FRAME_BYTES + 64,
          "rebuild frame of " + f.getSerializedSize() + " bytes");
      sent += f.getOpsCount();
    }
    assertEquals(plan.baseOps() + plan.tailOps(), sent, "the plan sends every op");
  }
}
