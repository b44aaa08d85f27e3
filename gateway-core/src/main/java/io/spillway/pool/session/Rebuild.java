package io.spillway.pool.session;

import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.failover.CatchUpFilter;
import io.spillway.pool.failover.Recording;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.placement.Slice;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * A journaled session being rebuilt on a new upstream: the open and the journal sent there, the new
 * Opened turned into a Notice, and the new upstream's replies filtered by the {@link CatchUpFilter}
 * until it has caught up with what the client has. Runs on the session's executor only.
 */
final class Rebuild {
  private static final Logger LOG = Logger.getLogger(Rebuild.class.getName());

  private final DirectRoute route;
  private final ForwardedSession session;
  private final SessionHost host;
  private final SynchronizationContext executor;
  private final FramePump pump;
  private final Recording recording;
  /** Where the rebuild stands; null when none runs. */
  private CatchUpFilter.CatchUp catchUp;

  Rebuild(DirectRoute route, ForwardedSession session, SessionHost host, SynchronizationContext executor,
      Recording recording) {
    this.route = route;
    this.session = session;
    this.host = host;
    this.executor = executor;
    this.pump = session.pump;
    this.recording = recording;
  }

  /** The upstream was left: a rebuild in progress is abandoned. */
  void reset() {
    catchUp = null;
  }

  /**
   * Opens the session on a new upstream and sends the journal's base and tail. Replies are filtered
   * until the tail is answered: the new Opened becomes a Notice, errors and read data the client already
   * has are dropped.
   */
  void start(ClientFrame open, String address, List<Slice> placed, String via, SpillTarget.Spill spill) {
    String notReplayable = recording.whyNotReplayable();
    if (notReplayable != null) {
      // What the client sent while a new slice was being found could not all be journaled.
      if (spill != null) {
        session.giveBack(spill);
      }
      host.listener().replayFailed(session.tenant(), notReplayable);
      Status lastLoss = route.rebuilder.lastLoss();
      session.end(Status.FAILED_PRECONDITION.withDescription("session " + session.id().value() + " was lost ("
          + (lastLoss == null ? "moved" : lastLoss.getDescription()) + ") and cannot be rebuilt on another"
          + " GPU: " + notReplayable), true);
      return;
    }
    Recording.Plan plan = recording.plan();
    String from = session.upstreamName;
    Upstream upstream = route.newUpstream(address, placed, via, spill);
    session.moveTo(SessionState.REBUILDING);
    catchUp = plan.catchUp();
    upstream.send(RawFrame.of(open));
    for (ClientFrame f : plan.frames()) {
      upstream.send(RawFrame.of(f));
    }
    // The last op sent in the old stream may have been a synchronizing one whose answer now comes from the
    // new stream; the latency metric restarts from here.
    pump.awaitAnswers(plan.synchronizingSeqs());
    if (route.halfClosedByClient()) {
      upstream.halfClose();
    }
    // A link that accepts connections but carries nothing (a cut that blackholes, a half-open proxy) would
    // leave the rebuilt open unanswered with no error: give it a bound, then try again elsewhere.
    long timeout = host.failover().reopenTimeout().toMillis();
    host.scheduler().schedule(() -> executor.execute(() -> timedOut(upstream, timeout)), timeout);
    session.lastMove = from + " -> " + via;
    LOG.info(() -> "session " + session.id().value() + " of tenant " + session.tenant() + ": rebuilding on " + via
        + " (" + plan.baseOps() + " journaled ops, " + plan.tailOps() + " resent)");
    host.scheduler().schedule(() -> executor.execute(() -> {
      if (session.state() != SessionState.ENDED) {
        pump.askClient(route.upstream());
      }
    }), 0);
  }

  private void timedOut(Upstream attempt, long timeoutMillis) {
    if (session.state() != SessionState.REBUILDING || route.upstream() != attempt) {
      return;
    }
    route.reopenTimedOut(Status.UNAVAILABLE.withDescription(route.who() + " did not answer the rebuilt open"
        + " of session " + session.id().value() + " within " + timeoutMillis + " ms"));
  }

  /** The rebuilt upstream's answer to its open: its Opened becomes a Notice to the client. */
  void reopenAnswer(RawFrame frame) {
    ServerFrame parsed = parse(frame, "malformed answer to a rebuilt open: ");
    if (parsed == null) {
      return;
    }
    CatchUpFilter.Reopen reopen = CatchUpFilter.splitReopen(parsed);
    Upstream upstream = route.upstream();
    if (reopen.refusal() != null) {
      route.upstreamLost(Status.UNAVAILABLE.withDescription(upstream.name + " refused the rebuilt open: "
          + reopen.refusal().getError().getDescription()));
      return;
    }
    if (reopen.opened() != null) {
      session.nodeSessionId = reopen.opened().getSessionId();
      session.replays++;
      long gapNanos = route.rebuilder.rebuilt();
      Status lastLoss = route.rebuilder.lastLoss();
      String message = "session " + session.id().value() + " moved to " + upstream.name + " ("
          + session.lastMove + ", after " + (lastLoss == null ? "a move" : lastLoss.getDescription()) + ")";
      LOG.info(() -> message + " in " + gapNanos / 1_000_000 + " ms");
      host.listener().sessionReplayed(session.tenant(), gapNanos);
      session.notice(message, reopen.opened().getDevicesList());
      if (catchUp.filterThrough() >= 0) {
        session.moveTo(SessionState.CATCHING_UP);
      } else {
        catchUp = null;
        session.moveTo(SessionState.FORWARDING);
      }
    }
    if (reopen.rest().getRepliesCount() > 0) {
      filter(reopen.rest());
    }
  }

  /** A frame of the rebuilt upstream after its Opened, while it catches up. */
  void catchingUp(RawFrame frame) {
    ServerFrame parsed = parse(frame, "malformed frame from a rebuilt upstream: ");
    if (parsed != null) {
      filter(parsed);
    }
  }

  /** Drops from a rebuilt upstream's replies what the client already has; ends the catch-up past the tail. */
  private void filter(ServerFrame parsed) {
    CatchUpFilter.CatchUp at = catchUp != null ? catchUp : finished(-1);
    CatchUpFilter.Step step = CatchUpFilter.apply(at, parsed);
    if (step.rebuildFailed() != null) {
      Reply r = step.rebuildFailed();
      Upstream upstream = route.upstream();
      upstream.cancel("rebuild failed");
      host.listener().replayFailed(session.tenant(), r.getError().getDescription());
      session.end(Status.FAILED_PRECONDITION.withDescription("session " + session.id().value()
          + " could not be rebuilt on " + upstream.name + ": journaled " + r.getError().getOp() + " (seq "
          + r.getSeq() + ") failed there: " + r.getError().getDescription()), true);
      return;
    }
    if (step.readDelivered() >= 0) {
      recording.readDelivered(at.readSeq(), step.readDelivered());
    }
    ServerFrame out = step.out();
    recording.onReplies(out);
    if (out.getRepliesCount() > 0) {
      long highest = -1;
      long openRead = -1;
      for (Reply r : out.getRepliesList()) {
        highest = Math.max(highest, r.getSeq());
        openRead = r.hasReadData() && !r.getReadData().getLast() ? r.getSeq() : -1;
      }
      pump.answeredThrough(highest, openRead);
      pump.sendDown(out, step.errors());
    }
    if (step.next() != null) {
      catchUp = step.next();
    } else if (session.state() == SessionState.CATCHING_UP) {
      catchUp = null;
      session.moveTo(SessionState.FORWARDING);
    } else if (catchUp != null) {
      // Caught up before the rebuilt open was answered: errors of the base still fail the rebuild.
      catchUp = finished(catchUp.rebuildThrough());
    }
  }

  private static CatchUpFilter.CatchUp finished(long rebuildThrough) {
    return new CatchUpFilter.CatchUp(rebuildThrough, -1, Set.of(), -1, 0, 0);
  }

  private ServerFrame parse(RawFrame frame, String malformed) {
    try {
      return ServerFrame.parseFrom(frame.reader());
    } catch (IOException e) {
      route.upstreamLost(Status.UNAVAILABLE.withDescription(malformed + e.getMessage()));
      return null;
    } finally {
      frame.release();
    }
  }
}
