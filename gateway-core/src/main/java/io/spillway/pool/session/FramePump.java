package io.spillway.pool.session;

import io.grpc.ServerCall;
import io.spillway.pool.forward.FrameScan;
import io.spillway.pool.forward.RawFrame;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The pass-through of one single-server session: frames as bytes both ways, the session's counters and
 * metrics, and backpressure. The gateway asks one stream for its next frame only when the other stream
 * is ready to take it, so at most one frame per direction waits in the gateway, and a slow node slows its
 * client through HTTP/2 flow control, not the gateway's memory.
 *
 * <p>Used only on the session's executor; the counters may be read from any thread.
 */
final class FramePump {
  private static final Logger LOG = Logger.getLogger(FramePump.class.getName());

  private final ServerCall<RawFrame, RawFrame> client;
  private final GatewayListener listener;
  private final String sessionId;
  /** Runs after each frame handed to the client's stream (activity, the reply-stall clock). */
  private final Runnable sent;
  /**
   * Synchronizing ops sent and not answered yet, as {seq, System.nanoTime() when sent}, in seq order.
   * Bounded: past {@link #MAX_WAITING_ANSWERS} ops are not timed. Drained by any reply, error or not,
   * with a seq at or past theirs (a node answers in order).
   */
  private final ArrayDeque<long[]> waitingAnswers = new ArrayDeque<>();
  static final int MAX_WAITING_ANSWERS = 4096;
  final AtomicLong ops = new AtomicLong();
  final AtomicLong bytesUp = new AtomicLong();
  final AtomicLong bytesDown = new AtomicLong();
  final AtomicLong errors = new AtomicLong();
  volatile String tenant = "";
  /** The client's next frame is wanted but was not asked for: the upstream was not ready, or absent. */
  private boolean clientWantsMore;
  /** The upstream's next frame is wanted but was not asked for: the client was not ready. */
  private boolean upstreamWantsMore;

  FramePump(ServerCall<RawFrame, RawFrame> client, GatewayListener listener, String sessionId, Runnable sent) {
    this.sent = sent;
    this.client = client;
    this.listener = listener;
    this.sessionId = sessionId;
  }

  // ---- metrics

  void countUp(int opCount, long bytes) {
    ops.addAndGet(opCount);
    bytesUp.addAndGet(bytes);
    if (opCount > 0 || bytes > 0) {
      listener.forwardedUp(tenant, opCount, bytes);
    }
  }

  void countDown(int replies, long bytes, int errs) {
    errors.addAndGet(errs);
    bytesDown.addAndGet(bytes);
    listener.forwardedDown(tenant, replies, bytes, errs);
  }

  /** Synchronizing ops {@code seqs} went upstream now: their answers' latency is measured from here. */
  void awaitAnswers(long[] seqs) {
    long now = System.nanoTime();
    for (long seq : seqs) {
      if (waitingAnswers.size() >= MAX_WAITING_ANSWERS) {
        return;
      }
      waitingAnswers.add(new long[] {seq, now});
    }
  }

  /**
   * Replies up to {@code highestSeq} reached the client: the synchronizing ops up to it are answered
   * (by their answer or by an error), except read {@code openRead} (-1: none), whose last chunk has not.
   */
  void answeredThrough(long highestSeq, long openRead) {
    long now = System.nanoTime();
    for (long[] w = waitingAnswers.peek(); w != null && w[0] <= highestSeq && w[0] != openRead;
        w = waitingAnswers.peek()) {
      waitingAnswers.poll();
      listener.answered(tenant, now - w[1]);
    }
  }

  /** Synchronizing ops awaited now (for tests and /sessions). */
  int waitingAnswers() {
    return waitingAnswers.size();
  }

  /** The upstream was left: answers awaited from it will not come. */
  void forgetAnswers() {
    waitingAnswers.clear();
  }

  // ---- frames

  /** Sends an upstream frame on to the client as bytes, after scanning it for metrics and {@code facts}. */
  void forwardDown(RawFrame frame, Consumer<FrameScan.ServerFacts> facts) {
    int replies = 0;
    int errs = 0;
    try {
      FrameScan.ServerFacts f = FrameScan.server(frame.reader());
      replies = f.replies();
      errs = f.errors();
      answeredThrough(f.highestSeq(), f.readDone() ? -1 : f.readSeq());
      if (facts != null) {
        facts.accept(f);
      }
    } catch (IOException e) {
      LOG.log(Level.FINE, "unreadable node frame in session " + sessionId, e);
    }
    countDown(replies, frame.size(), errs);
    client.sendMessage(frame);
    sent.run();
  }

  /** Sends a frame the gateway built (or rewrote) to the client, counting it. */
  void sendDown(ServerFrame frame, int errs) {
    RawFrame raw = RawFrame.of(frame);
    countDown(frame.getRepliesCount(), raw.size(), errs);
    client.sendMessage(raw);
    sent.run();
  }

  // ---- backpressure

  /** Asks the client for its next frame if {@code upstream} can take it, or notes that it is wanted. */
  void askClient(Upstream upstream) {
    boolean ask = upstream != null && upstream.isReady();
    clientWantsMore = !ask;
    if (ask) {
      client.request(1);
    }
  }

  /** A client frame arrived while there is no upstream to send it to: the next is asked for later. */
  void clientFrameHeld() {
    clientWantsMore = true;
  }

  /** The upstream became ready: asks the client for the frame that was waiting on it. */
  void upstreamReady() {
    if (clientWantsMore) {
      clientWantsMore = false;
      client.request(1);
    }
  }

  /** After an upstream frame went to the client: asks {@code upstream} for its next if the client can take it. */
  void askUpstream(Upstream upstream) {
    boolean ready = client.isReady();
    upstreamWantsMore = !ready;
    if (ready) {
      upstream.request();
    }
  }

  /** The client became ready: asks {@code upstream} for the frame that was waiting on it. */
  void clientReady(Upstream upstream) {
    if (upstreamWantsMore && upstream != null) {
      upstream.request();
    }
    upstreamWantsMore = false;
  }
}
