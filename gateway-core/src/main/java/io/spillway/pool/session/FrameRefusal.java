package io.spillway.pool.session;

import io.grpc.Status;
import io.spillway.pool.forward.FrameScan;
import io.spillway.pool.forward.RawFrame;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;

/**
 * Refuses, before anything else reads it, a client frame of more ops than the gateway accepts: it is
 * answered with one {@code RESOURCE_EXHAUSTED} error reply (seq 0, op {@code frame}), not forwarded and
 * not journaled, and the session goes on, as a node answers a frame it refuses whole.
 */
final class FrameRefusal {
  private FrameRefusal() {}

  /** True when {@code frame} was refused (and released); counting it allocates nothing per op. */
  static boolean refused(RawFrame frame, int maxOps, FramePump pump) {
    int ops;
    try {
      ops = FrameScan.countOps(frame.reader(), maxOps);
    } catch (IOException malformed) {
      return false; // the node answers it as malformed
    }
    if (ops <= maxOps) {
      return false;
    }
    int size = frame.size();
    frame.release();
    pump.countUp(0, size);
    pump.sendDown(ServerFrame.newBuilder().addReplies(Reply.newBuilder().setSeq(0).setError(Error.newBuilder()
        .setCode(Status.Code.RESOURCE_EXHAUSTED.value()).setOp("frame").setFatal(false)
        .setDescription("frame of " + size + " bytes holds more than " + maxOps + " ops, the most a frame may"
            + " (max-frame-ops " + maxOps + "); nothing in it was executed"))).build(), 1);
    return true;
  }
}
