package io.spillway.pool.session;

import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.failover.Recording;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.util.List;

/**
 * Acts on admission's decision: starts the session's route, after the lease authority admits it (at a
 * center) or the spill target lends capacity (at an edge) where the decision needs that first. Runs on
 * the session's executor; answers of those calls are handed back to it.
 */
final class Opener {
  private final ForwardedSession session;
  private final SessionHost host;
  private final SynchronizationContext executor;

  Opener(ForwardedSession session, SessionHost host, SynchronizationContext executor) {
    this.session = session;
    this.host = host;
    this.executor = executor;
  }

  /**
   * Admits the session's first frame: who the tenant is comes first (until it is proven and its name
   * checked, nothing, not a log line, a metric label or the placer, sees it), then admission's decision,
   * acted on.
   */
  void admit(RawFrame frame) {
    ClientFrame parsed;
    try {
      parsed = ClientFrame.parseFrom(frame.reader());
    } catch (IOException e) {
      refuse(0, Status.INVALID_ARGUMENT.withDescription("malformed first frame of " + frame.size()
          + " bytes: " + e.getMessage() + " (the first frame must open the session)"));
      return;
    } finally {
      frame.release();
    }
    Admission.Identified who = Admission.identify(host, session.caller(), parsed);
    if (who.refusal() != null) {
      open(parsed, who.refusal());
      return;
    }
    parsed = who.frame();
    if (parsed.getOpsCount() > 0 && parsed.getOps(0).hasOpen()) {
      session.openWith(parsed.getOps(0));
    }
    open(parsed, Admission.decide(host, session.id(), parsed));
  }

  void open(ClientFrame parsed, Admission.Decision decision) {
    String what = "open (seq " + (session.openOp() == null ? 0 : session.openOp().getSeq()) + ")";
    if (decision instanceof Admission.Refuse r) {
      refuse(r.seq(), r.status());
    } else if (decision instanceof Admission.Spanning s) {
      session.slices = s.slices();
      SpanningRoute span = new SpanningRoute(session, host, session.id().value(), s.slices());
      session.route(span);
      host.registered(session);
      span.start(parsed);
      session.afterRouteStarted();
    } else if (decision instanceof Admission.Local l) {
      direct(l.request(), journal(parsed)).open(Admission.pinned(parsed, l.slices()),
          l.slices().get(0).address(), l.slices(), l.slices().get(0).nodeId(), null);
    } else if (decision instanceof Admission.UnderLease u) {
      underLease(parsed, u, what);
    } else if (decision instanceof Admission.Spill s) {
      spill(parsed, s, what);
    }
  }

  /** A center gateway: the session runs on the cards of the lease the edge names. */
  private void underLease(ClientFrame parsed, Admission.UnderLease u, String what) {
    LeaseAuthority authority = host.leaseAuthority();
    authority.admit(new LeaseAuthority.Presented(session.id(), u.lease().getLeaseId(), u.lease().getEpoch(),
            session.caller(), session.openOp().getOpen()))
        .whenComplete((cards, error) -> executor.execute(() -> {
          if (error != null) {
            Status st = Status.fromThrowable(error);
            refuse(session.openOp().getSeq(), st.withDescription(what + ": " + st.getDescription()));
          } else if (session.state() == SessionState.ENDED) {
            host.placer().release(session.id());
            authority.ended(session.id());
          } else {
            session.underLease(u.lease().getLeaseId());
            direct(null, null).open(Admission.pinned(parsed, cards), cards.get(0).address(), cards,
                cards.get(0).nodeId(), null);
          }
        }));
  }

  /** An edge whose pool cannot take the session: borrow center capacity and open it there. */
  private void spill(ClientFrame parsed, Admission.Spill s, String what) {
    session.borrow(s.request()).whenComplete((spill, error) -> executor.execute(() -> {
      if (error != null) {
        refuse(session.openOp().getSeq(), Status.RESOURCE_EXHAUSTED.withDescription(what + ": "
            + s.localRefusal() + "; center: " + Status.fromThrowable(error).getDescription()));
      } else if (session.state() == SessionState.ENDED) {
        session.giveBack(spill);
      } else {
        session.spillingTo(spill);
        host.listener().spilled(session.tenant());
        direct(s.request(), journal(parsed)).open(Admission.withLease(parsed, spill), spill.centerAddress(),
            List.of(), "center", spill);
      }
    }));
  }

  private DirectRoute direct(SliceRequest request, Recording recording) {
    DirectRoute direct = new DirectRoute(session, host, executor, recording, request, session.openOp());
    session.route(direct);
    return direct;
  }

  /** An edge journals its single-server sessions, from the ops that follow the open in the first frame. */
  private Recording journal(ClientFrame first) {
    FailoverConfig f = host.failover();
    if (!f.journal()) {
      return null;
    }
    Recording r = new Recording(f.maxSessionBytes(), host.journalBudget());
    session.noticeIfAny(r.onFirstFrame(first), false);
    return r;
  }

  /** Refuses the open: an error reply naming the op, then the stream ends with the same status. */
  private void refuse(long seq, Status status) {
    host.listener().openRefused(session.tenant(), status.getCode());
    if (session.state() == SessionState.ENDED) {
      return;
    }
    if (seq != 0) {
      session.sendToClient(RawFrame.of(ServerFrame.newBuilder().addReplies(Reply.newBuilder().setSeq(seq)
          .setError(Error.newBuilder().setCode(status.getCode().value()).setOp("open")
              .setDescription(status.getDescription()).setFatal(true))).build()));
    }
    session.end(status, true);
  }
}
