package io.spillway.node.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.server.FrameMarshaller;
import io.spillway.node.session.NodeSession;
import io.spillway.node.session.OpException;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.protocol.v1.Write;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The node's session layer on the host driver, fed frames of fuzzed ops: as the node's server does, each
 * frame's bytes go through {@link FrameMarshaller} and each op through {@link NodeSession#execute}.
 * For any input:
 * <ul>
 *   <li>no exception escapes (the server would end the stream with {@code INTERNAL}); a bad op is
 *       answered with an error reply for that op's sequence number, with a code other than
 *       {@code INTERNAL}/{@code UNKNOWN} and a description;
 *   <li>every reply answers the op being executed, and a read's data arrives in chunks no larger than
 *       the session's chunk size;
 *   <li>the session's device memory stays within its slice;
 *   <li>another session's buffer on the same card keeps its bytes, and once the fuzzed session is
 *       released the card's slices are as before.
 * </ul>
 * Kernels run under a small instruction budget (2^16 warp instructions) so that one that never ends
 * costs milliseconds.
 */
class NodeSessionFuzzTest {

  private static final long CARD_BYTES = 64L << 20;
  /** Ops per input: enough for a session's story, few enough that an input takes milliseconds. */
  private static final int MAX_OPS = 48;
  private static final byte[] VICTIM_BYTES = new byte[4096];
  private static GpuNode node;
  private static NodeSession victim;
  private static long victimSeq = 3;

  @BeforeAll
  static void startNode() throws OpException {
    node = new GpuNode(NodeOptions.defaults("fuzz"), HostGpuDriver.withCards(2, "V100", CARD_BYTES, 1L << 16));
    for (int i = 0; i < VICTIM_BYTES.length; i++) {
      VICTIM_BYTES[i] = (byte) (i * 31 + 7);
    }
    victim = open(1, 1L << 20, 2).session();
    Replies r = new Replies();
    victim.execute(Op.newBuilder().setSeq(2).setAlloc(Alloc.newBuilder().setHandle(1).setBytes(4096)).build(), r);
    victim.execute(Op.newBuilder().setSeq(3).setWrite(Write.newBuilder().setHandle(1)
        .setData(ByteString.copyFrom(VICTIM_BYTES))).build(), r);
    assertTrue(r.replies.isEmpty(), "victim set up: " + r.replies);
  }

  @AfterAll
  static void stopNode() {
    node.close();
  }

  private static GpuNode.Admitted open(int gpus, long bytes, int version) throws OpException {
    return node.open(1, Open.newBuilder().setProtocolVersion(version).setTenant("fuzz")
        .setSlice(SliceRequest.newBuilder().setGpuCount(gpus).setMemoryBytes(bytes).setComputePercent(10))
        .build());
  }

  @FuzzTest(maxDuration = "20s")
  void framesOfOps(FuzzedDataProvider data) throws Exception {
    int version = data.consumeInt(1, 2);
    long sliceBytes = data.consumeLong(4096, 1L << 20);
    GpuNode.Admitted admitted;
    try {
      admitted = open(data.consumeInt(1, 2), sliceBytes, version);
    } catch (OpException refused) {
      assertFalse(refused.code() == Status.Code.INTERNAL || refused.code() == Status.Code.UNKNOWN, refused.toString());
      return;
    }
    NodeSession session = admitted.session();
    int chunk = admitted.opened().getChunkBytes();
    FuzzOps ops = new FuzzOps(data, Math.min(sliceBytes / 2, 64 << 10), 2, version);
    try {
      boolean live = true;
      int left = MAX_OPS;
      while (live && ops.more() && left > 0) {
        ClientFrame.Builder frame = ClientFrame.newBuilder();
        int n = data.consumeInt(1, 12);
        for (int i = 0; i < n && ops.more() && left > 0; i++, left--) {
          frame.addOps(ops.next());
        }
        FrameMarshaller.Inbound inbound = new FrameMarshaller()
            .parse(new ByteArrayInputStream(frame.build().toByteArray())).parse();
        assertEquals(null, inbound.parseError(), "a frame protobuf wrote parses");
        for (Op op : inbound.frame().getOpsList()) {
          Replies r = new Replies();
          live = session.execute(op, r);
          for (Reply reply : r.replies) {
            assertEquals(op.getSeq(), reply.getSeq(), "reply to " + op + ": " + reply);
            if (reply.hasError()) {
              Status.Code code = Status.fromCodeValue(reply.getError().getCode()).getCode();
              assertFalse(code == Status.Code.INTERNAL || code == Status.Code.UNKNOWN || code == Status.Code.OK,
                  "error code for " + op + ": " + reply);
              assertFalse(reply.getError().getDescription().isBlank(), "described: " + reply);
            }
            if (reply.hasReadData()) {
              assertTrue(reply.getReadData().getData().size() <= chunk, "read chunk " + reply.getReadData()
                  .getData().size() + " > " + chunk);
            }
          }
          for (NodeSession.Device d : session.devices()) {
            assertTrue(d.memoryUsed() <= d.memoryLimit(), "memory " + d.memoryUsed() + " > slice " + d.memoryLimit());
          }
          if (!live) {
            break;
          }
        }
        session.idle();
      }
    } finally {
      node.release(session);
    }
    assertEquals(1, node.sessions().size(), "only the victim is left");
    long held = node.gpus().stream().mapToLong(g -> node.slices().allocatedBytes(g)).sum();
    assertEquals(1L << 20, held, "the fuzzed session's slices are released");
    Replies r = new Replies();
    victim.execute(Op.newBuilder().setSeq(++victimSeq).setRead(Read.newBuilder().setHandle(1).setLength(4096)).build(), r);
    ByteString got = ByteString.EMPTY;
    for (Reply reply : r.replies) {
      got = got.concat(reply.getReadData().getData());
    }
    assertArrayEquals(VICTIM_BYTES, got.toByteArray(), "the other session's buffer is untouched");
  }

  private static final class Replies implements NodeSession.ReplySink {
    final List<Reply> replies = new ArrayList<>();

    @Override
    public void reply(Reply reply) {
      replies.add(reply);
    }

    @Override
    public void flush() {
    }
  }
}
