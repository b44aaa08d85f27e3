package io.spillway.pool.session;

import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.gateway.SpillTarget;
import io.spillway.protocol.v1.ClientFrame;
import java.util.Optional;

/**
 * Finds a lost session a new upstream: a slice of one local server first (unless the spill policy says
 * the local pool is too busy), then the lease it held through another center replica, then a new lease.
 * Each attempt runs on the session's executor, as the {@link io.spillway.pool.failover.Rebuilder}
 * schedules it; the spill target's calls run on the gateway's effects executor and hand their answers
 * back.
 */
final class Relocator {
  private final DirectRoute route;
  private final ForwardedSession session;
  private final SessionHost host;
  private final SynchronizationContext executor;

  Relocator(DirectRoute route, ForwardedSession session, SessionHost host, SynchronizationContext executor) {
    this.route = route;
    this.session = session;
    this.host = host;
    this.executor = executor;
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
      host.effects().execute(() -> {
        Optional<SpillTarget.Spill> again;
        try {
          again = spill.elsewhere(held);
        } catch (RuntimeException e) {
          again = Optional.empty();
        }
        if (again.isEmpty()) {
          spill.giveBack(held);
        }
        Optional<SpillTarget.Spill> found = again;
        executor.execute(() -> {
          if (found.isPresent()) {
            resendSpilled(found.get());
          } else {
            borrow(refusal);
          }
        });
      });
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
}
