package io.spillway.pool.session;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.failover.LossClassifier;
import io.spillway.pool.failover.Rebuilder;
import io.spillway.pool.failover.Recording;
import io.spillway.pool.forward.FrameScan;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.util.List;
import java.util.logging.Logger;

/**
 * A session on one server: one upstream stream at a time, each of a new generation, frames passed
 * through by the {@link FramePump}. When the upstream is lost, a journaled session is rebuilt elsewhere
 * ({@link Relocator} finds where, {@link Rebuild} sends the journal and filters the replies until they
 * have caught up); a spilled one comes home under the failback policy. Runs on the session's executor only.
 */
final class DirectRoute implements Route, Upstream.Events {
  private static final long[] NO_SEQS = new long[0];

  private static final Logger LOG = Logger.getLogger(DirectRoute.class.getName());

  /**
   * Trailer a gateway that does not journal (a center) sets when it ends a session because what was
   * under it was lost (its node, its lease): the edge then knows the gateway itself is alive, and that
   * the lease's cards are not worth trying again.
   */
  static final Metadata.Key<String> UPSTREAM_LOST =
      Metadata.Key.of(LossClassifier.UPSTREAM_LOST_TRAILER, Metadata.ASCII_STRING_MARSHALLER);

  private final ForwardedSession session;
  private final SessionHost host;
  private final SynchronizationContext executor;
  private final FramePump pump;
  /** Null when the gateway does not journal. */
  private final Recording recording;
  /** The slice the client asked for; null under a lease at a center. */
  final SliceRequest request;
  /** The client's open op, as it sent it. */
  final Op openOp;
  final Rebuilder rebuilder;
  private final Relocator relocator;
  private Upstream upstream;
  private int generation;
  /** The lease the current upstream runs under, at an edge; null on the local pool. */
  private SpillTarget.Spill spilled;
  /**
   * The lease of a session whose center gateway or link was lost (not its cards), kept while it is usable
   * to reopen the session under it through another replica, or the same one once it answers again.
   */
  SpillTarget.Spill heldSpill;
  private final Rebuild rebuild;
  private boolean clientHalfClosed;

  DirectRoute(ForwardedSession session, SessionHost host, SynchronizationContext executor, Recording recording,
      SliceRequest request, Op openOp) {
    this.session = session;
    this.host = host;
    this.executor = executor;
    this.pump = session.pump;
    this.recording = recording;
    this.request = request;
    this.openOp = openOp;
    FailoverConfig f = host.failover();
    this.rebuilder = new Rebuilder(host.scheduler(), System::nanoTime, f.replayDeadline(), f.replayBackoffBase(),
        f.replayBackoffMax());
    this.relocator = new Relocator(this, session, host, executor);
    this.rebuild = new Rebuild(this, session, host, executor, recording);
  }

  /** Opens the first upstream with the (rewritten) first frame. */
  void open(ClientFrame first, String address, List<Slice> placed, String via, SpillTarget.Spill spill) {
    newUpstream(address, placed, via, spill).send(RawFrame.of(first));
    pump.countUp(first.getOpsCount(), 0);
    host.registered(session);
    pump.askClient(upstream);
    session.afterRouteStarted();
  }

  /** Starts a stream of the next generation to {@code address}; the session runs there from now on. */
  Upstream newUpstream(String address, List<Slice> placed, String via, SpillTarget.Spill spill) {
    spilled = spill;
    session.spillingTo(spill);
    session.slices = placed;
    session.upstreamName = via;
    upstream = Upstream.start(host, address, ++generation, via, executor, this);
    return upstream;
  }

  Upstream upstream() {
    return upstream;
  }

  boolean halfClosedByClient() {
    return clientHalfClosed;
  }

  /** Starts rebuilding the session on a new upstream (see {@link Rebuild#start}). */
  void rebuild(ClientFrame open, String address, List<Slice> placed, String via, SpillTarget.Spill spill) {
    rebuild.start(open, address, placed, via, spill);
  }

  /** The rebuilt open went unanswered: try elsewhere. */
  void reopenTimedOut(Status why) {
    if (spilled != null) {
      centerUnreachable(why);
    }
    upstreamLost(why);
  }

  // ---- client -> upstream

  @Override
  public boolean awaitsAnswers() {
    return pump.waitingAnswers() > 0;
  }

  @Override
  public void fromClient(RawFrame frame) {
    if (FrameRefusal.refused(frame, host.config().limits().maxFrameOps(), pump)) {
      pump.askClient(upstream);
      return;
    }
    int ops = 0;
    long[] sync = NO_SEQS;
    if (recording != null) {
      Recording.Up up = recording.onClientFrame(frame);
      ops = up.ops();
      sync = up.synchronizingSeqs();
      session.noticeIfAny(up.notice(), true);
    } else {
      try {
        FrameScan.ClientFacts facts = FrameScan.client(frame.reader());
        ops = facts.ops();
        sync = facts.synchronizingSeqs();
      } catch (IOException e) {
        // Not a frame the gateway understands: the node answers it as malformed, the session goes on.
      }
    }
    int size = frame.size();
    if (upstream == null) {
      // Lost: sent with the journal's tail once the session is rebuilt.
      frame.release();
      pump.clientFrameHeld();
      pump.countUp(ops, size);
      return;
    }
    pump.awaitAnswers(sync);
    upstream.send(frame);
    pump.countUp(ops, size);
    pump.askClient(upstream);
  }

  @Override
  public void clientHalfClosed() {
    clientHalfClosed = true;
    if (upstream != null) {
      upstream.halfClose();
    }
  }

  @Override
  public void clientReady() {
    pump.clientReady(upstream);
  }

  @Override
  public void cancel(String why) {
    if (upstream != null) {
      upstream.cancel(why);
    }
  }

  // ---- upstream -> client

  @Override
  public void upstreamReady(Upstream from) {
    if (from == upstream && session.state() != SessionState.ENDED) {
      pump.upstreamReady();
    }
  }

  @Override
  public void upstreamMessage(Upstream from, RawFrame frame) {
    if (from != upstream || session.state() == SessionState.ENDED) {
      frame.release();
      return;
    }
    switch (session.state()) {
      case OPENING -> firstAnswer(frame);
      case REBUILDING -> rebuild.reopenAnswer(frame);
      case CATCHING_UP -> rebuild.catchingUp(frame);
      default -> pump.forwardDown(frame, recording == null ? null : recording::onServerFacts);
    }
    if (from != upstream || session.state() == SessionState.ENDED) {
      return;
    }
    relocator.maybeFailBack(recording);
    if (from == upstream && session.state() != SessionState.ENDED) {
      pump.askUpstream(upstream);
    }
  }

  /** The node's answer to the open: adopt it and give the client the gateway's session id. */
  private void firstAnswer(RawFrame frame) {
    ServerFrame parsed;
    try {
      parsed = ServerFrame.parseFrom(frame.reader());
    } catch (IOException e) {
      session.end(Status.INTERNAL.withDescription("node sent a malformed answer to open: " + e.getMessage()), true);
      return;
    } finally {
      frame.release();
    }
    ServerFrame.Builder out = parsed.toBuilder();
    String opened = null;
    for (int i = 0; i < out.getRepliesCount(); i++) {
      Reply r = out.getReplies(i);
      if (r.hasOpened()) {
        opened = r.getOpened().getSessionId();
        out.setReplies(i, r.toBuilder().setOpened(r.getOpened().toBuilder().setSessionId(session.id().value())));
      }
    }
    if (opened != null) {
      session.opened(opened);
    }
    if (recording != null) {
      recording.onReplies(parsed);
    }
    pump.countDown(parsed.getRepliesCount(), frame.size(), 0);
    session.sendToClient(RawFrame.of(out.build()));
  }

  @Override
  public void upstreamClosed(Upstream from, Status status, Metadata trailers) {
    if (from != upstream || session.state() == SessionState.ENDED) {
      return;
    }
    boolean rebuilding = session.state() == SessionState.REBUILDING;
    LossClassifier.Loss loss = LossClassifier.classify(status.getCode(), rebuilding,
        trailers != null && trailers.containsKey(UPSTREAM_LOST), spilled != null);
    switch (loss.verdict()) {
      case FINISHED -> session.end(Status.OK, true);
      case SESSION_FAILED -> session.end(status, true); // a fatal op: nothing to rebuild
      case LOST -> {
        Status why = Status.UNAVAILABLE.withDescription(who() + " holding session " + session.id().value()
            + (rebuilding ? " refused it" : " is unreachable") + ": " + status.getCode()
            + (status.getDescription() == null ? "" : " " + status.getDescription()));
        switch (loss.blame()) {
          case NODE -> host.nodeUnreachable(upstream.name, status);
          case CENTER -> centerUnreachable(status);
          case NONE -> { }
        }
        upstreamLost(why);
      }
    }
  }

  String who() {
    return spilled != null ? "center gateway " + spilled.centerAddress() : "node " + upstream.name;
  }

  /** The center gateway (not the lease's cards) is gone: keep the lease to reopen the session under it. */
  private void centerUnreachable(Status status) {
    session.spillCalls.unreachable(spilled, status);
    heldSpill = spilled;
    spilled = null;
  }

  // ---- failover

  @Override
  public void lost(Status status) {
    if (session.state() != SessionState.LOST) {
      upstreamLost(status);
    }
  }

  @Override
  public void leaseLost(String leaseId, Status status) {
    if (session.state() != SessionState.LOST && spilled != null && spilled.leaseId().equals(leaseId)) {
      upstreamLost(status);
    }
  }

  @Override
  public void shutdown(Status status) {
    if (upstream != null) {
      upstream.cancel(status.getDescription());
    }
    session.end(status, true);
  }

  String whyNotReplayable() {
    if (recording == null) {
      return host.failover().journal() ? "not journaled" : "journal off";
    }
    return recording.whyNotReplayable();
  }

  long journalBytes() {
    return recording == null ? 0 : recording.bytes();
  }

  /** The upstream is gone or must be left: rebuild the session elsewhere, or end it if it cannot be. */
  void upstreamLost(Status why) {
    String notReplayable = !session.everOpened() ? "it was not open yet"
        : recording == null ? null : recording.whyNotReplayable();
    if (recording == null || notReplayable != null || !host.serving()) {
      if (upstream != null) {
        upstream.cancel(why.getDescription());
      }
      if (heldSpill != null) {
        session.giveBack(heldSpill);
        heldSpill = null;
      }
      if (recording != null && notReplayable != null && session.everOpened()) {
        host.listener().replayFailed(session.tenant(), why.getDescription());
        session.end(Status.FAILED_PRECONDITION.withDescription(why.getDescription() + "; the session cannot be"
            + " rebuilt on another GPU: " + notReplayable), true);
      } else {
        if (recording == null && host.serving()) {
          Metadata trailers = new Metadata();
          trailers.put(UPSTREAM_LOST, session.upstreamName.isEmpty() ? "lost" : session.upstreamName);
          session.closeTrailers(trailers);
        }
        session.end(why, true);
      }
      return;
    }
    rebuilder.lost(why);
    leaveUpstream("lost: " + why.getDescription());
    LOG.info(() -> "session " + session.id().value() + " of tenant " + session.tenant() + ": "
        + why.getDescription() + "; rebuilding it (attempt " + (rebuilder.attempts() + 1) + ")");
    relocator.scheduleAttempt();
  }

  /** Cancels the current upstream and gives back what it held. */
  void leaveUpstream(String why) {
    session.moveTo(SessionState.LOST);
    rebuild.reset();
    Upstream old = upstream;
    upstream = null;
    if (old != null) {
      old.cancel("session " + session.id().value() + " moves elsewhere (" + why + ")");
    }
    if (spilled != null) {
      session.giveBack(spilled);
      spilled = null;
      session.spillingTo(null);
    } else {
      host.placer().release(session.id());
    }
    relocator.dropFailback();
    pump.forgetAnswers();
  }

  @Override
  public void tryFailBack() {
    relocator.tryFailBack(spilled != null, recording);
  }

  @Override
  public void release() {
    if (spilled != null) {
      session.giveBack(spilled);
    }
    if (heldSpill != null) {
      session.giveBack(heldSpill);
      heldSpill = null;
    }
    if (recording != null) {
      recording.close();
    }
  }
}
