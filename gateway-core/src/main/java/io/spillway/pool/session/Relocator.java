package io.spillway.pool.session;

import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.failover.Failback;
import io.spillway.pool.failover.Recording;
import io.spillway.pool.placement.Slice;
import io.spillway.protocol.v1.ClientFrame;
import java.util.List;
import java.util.Locale;

/**
 * Finds a lost session a new upstream: a slice of one local server first (unless the spill policy says
 * the local pool is too busy), then the lease it held through another center replica, then a new lease.
 * Brings a spilled session home when local capacity returns, under the failback policy.
 * Each attempt runs on the session's executor, as the {@link io.spillway.pool.failover.Rebuilder}
 * schedules it; the spill target's calls run on the gateway's effects executor and hand their answers
 * back.
 */
final class Relocator {
  private final DirectRoute route;
  private final ForwardedSession session;
  private final SessionHost host;
  private final SynchronizationContext executor;
  private final Failback failback;

  Relocator(DirectRoute route, ForwardedSession session, SessionHost host, SynchronizationContext executor) {
    this.route = route;
    this.session = session;
    this.host = host;
    this.executor = executor;
    this.failback = new Failback(host.failover().failback() == FailoverConfig.Failback.IMMEDIATE);
  }

  void scheduleAttempt() {
    route.rebuilder.scheduleAttempt(() -> executor.execute(this::attempt));
  }

  private boolean stillLost() {
    return session.state() == SessionState.LOST;
  }

  private void attempt() {
    if (!stillLost()) {
      return;
    }
    if (route.rebuilder.pastDeadline()) {
      Status lastLoss = route.rebuilder.lastLoss();
      host.listener().replayFailed(session.tenant(), lastLoss.getDescription());
      session.end(Status.UNAVAILABLE.withDescription("session " + session.id().value() + " could not be rebuilt"
          + " within " + route.rebuilder.deadline() + " after it was " + lastLoss.getDescription()), true);
      return;
    }
    SpillTarget spill = host.spillTarget();
    String localRefusal = "local pool above its spill threshold";
    if (spill == null || !spill.spillFirst(host.placer().snapshot())) {
      Admission.OneServer local = Admission.placeOnOneServer(host, session.id(), route.request);
      if (local.slices() != null) {
        if (route.heldSpill != null) {
          session.giveBack(route.heldSpill);
          route.heldSpill = null;
        }
        route.rebuild(Admission.pinned(openFrame(), local.slices()), local.slices().get(0).address(),
            local.slices(), local.slices().get(0).nodeId(), null);
        return;
      }
      localRefusal = local.refusal();
    }
    if (spill == null) {
      retryLater(Status.UNAVAILABLE.withDescription(localRefusal));
      return;
    }
    SpillTarget.Spill held = route.heldSpill;
    route.heldSpill = null;
    String refusal = localRefusal;
    if (held != null) {
      session.spillCalls.elsewhere(held).whenComplete((again, error) -> executor.execute(() -> {
        if (again != null && again.isPresent()) {
          resendSpilled(again.get());
        } else {
          borrow(refusal);
        }
      }));
      return;
    }
    borrow(refusal);
  }

  private void borrow(String localRefusal) {
    if (!stillLost()) {
      return;
    }
    session.borrow(route.request).whenComplete((borrowed, error) -> executor.execute(() -> {
      if (error != null) {
        retryLater(Status.UNAVAILABLE.withDescription(localRefusal + "; center: "
            + Status.fromThrowable(error).getDescription()));
      } else {
        resendSpilled(borrowed);
      }
    }));
  }

  private void retryLater(Status why) {
    if (!stillLost()) {
      return;
    }
    route.rebuilder.attemptFailed(why);
    scheduleAttempt();
  }

  private void resendSpilled(SpillTarget.Spill borrowed) {
    if (!stillLost()) {
      session.giveBack(borrowed);
      return;
    }
    route.rebuild(Admission.withLease(openFrame(), borrowed), borrowed.centerAddress(), java.util.List.of(),
        "center", borrowed);
  }

  private ClientFrame openFrame() {
    return ClientFrame.newBuilder().addOps(route.openOp).build();
  }

  // ---- failback: a spilled session comes home when local capacity returns

  /** On the failback timer: reserves local slices for a spilled session, and moves if it may now. */
  void tryFailBack(boolean spilled, Recording recording) {
    FailoverConfig.Failback policy = host.failover().failback();
    if (policy == FailoverConfig.Failback.NEVER || !spilled || route.request == null
        || !failback.wantsSlices(session.state() == SessionState.FORWARDING, recording)) {
      return;
    }
    SpillTarget spill = host.spillTarget();
    if (spill != null && spill.spillFirst(host.placer().snapshot())) {
      return;
    }
    List<Slice> home = Admission.placeOnOneServer(host, session.id(), route.request).slices();
    if (home == null) {
      return;
    }
    failback.reserve(home);
    maybeFailBack(recording);
  }

  /** Moves to the reserved local slices if the session may move now. */
  void maybeFailBack(Recording recording) {
    List<Slice> home = failback.takeIfDue(session.state() == SessionState.FORWARDING, recording);
    if (home == null) {
      return;
    }
    route.rebuilder.moving(Status.OK.withDescription("local capacity returned (failback "
        + host.failover().failback().name().toLowerCase(Locale.ROOT).replace('_', '-') + ")"));
    route.leaveUpstream("back to the local pool");
    host.listener().failedBack(session.tenant());
    route.rebuild(Admission.pinned(openFrame(), home), home.get(0).address(), home, home.get(0).nodeId(), null);
  }

  /** The session leaves its upstream: local slices reserved to bring it home go back. */
  void dropFailback() {
    if (failback.drop()) {
      host.placer().release(session.id());
    }
  }
}
