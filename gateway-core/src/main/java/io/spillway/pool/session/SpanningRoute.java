package io.spillway.pool.session;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.placement.Slice;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A session whose GPUs lie on several servers: one stream to each node (a leg), every op routed to the
 * leg that holds its device or handle, and the legs' answers merged back into one ordered stream.
 *
 * <p>Routing: {@code alloc} and {@code launch} go to the leg of their device, renumbered to the node's
 * own device index; {@code write}, {@code fill}, {@code read} and {@code free} to the leg that holds the
 * handle (an unknown handle goes to the first leg, which answers {@code NOT_FOUND}); {@code load_module},
 * {@code synchronize} and {@code close} to every leg. A {@code read} is paired with a {@code synchronize}
 * of the same sequence number on the other legs, so that every error of an earlier op, on any server,
 * reaches the client before the read's data, as on one node.
 *
 * <p>Ordering ({@link SpanningReplies}): a synchronizing op is answered once every leg has answered it;
 * replies with a higher sequence number wait until then. A read's data streams once every other leg
 * has answered its barrier; what arrived before is held, so a spanning session's reads cost memory at
 * the gateway (at most one read at a time per session).
 *
 * <p>This class owns the legs' streams and flow control, and sends each op where {@link SpanningOps}
 * says. Unlike single-server sessions, frames are parsed and rebuilt: spanning sessions trade some speed
 * for GPUs on several servers. Threading: runs on the session's executor; the legs' transport callbacks
 * only enqueue onto it.
 */
final class SpanningRoute implements Route {

  private final ForwardedSession owner;
  private final SessionHost core;
  private final String sessionId;
  private final List<Leg> legs = new ArrayList<>();
  private final SpanningOps routing;
  private final SpanningReplies replies;
  private boolean done;
  private boolean clientWantsMore;

  private final class Leg extends ClientCall.Listener<RawFrame> {
    final int index;
    final String nodeId;
    final ClientCall<RawFrame, RawFrame> call;
    final List<Slice> slices = new ArrayList<>();
    boolean wantsMore;
    boolean closed;

    Leg(int index, String nodeId, String address) {
      this.index = index;
      this.nodeId = nodeId;
      this.call = core.newUpstreamCall(address);
    }

    @Override
    public void onMessage(RawFrame frame) {
      owner.fromTransport(() -> fromNode(this, frame));
    }

    @Override
    public void onReady() {
      owner.fromTransport(SpanningRoute.this::legReady);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      owner.fromTransport(() -> legClosed(this, status));
    }
  }

  SpanningRoute(ForwardedSession owner, SessionHost core, String sessionId,
      List<Slice> slices) {
    this.owner = owner;
    this.core = core;
    this.sessionId = sessionId;
    int[] legOfDevice = new int[slices.size()];
    int[] localIndex = new int[slices.size()];
    Map<String, Leg> byNode = new LinkedHashMap<>();
    for (int d = 0; d < slices.size(); d++) {
      Slice s = slices.get(d);
      Leg leg = byNode.computeIfAbsent(s.nodeId(), n -> {
        Leg l = new Leg(legs.size(), n, s.address());
        legs.add(l);
        return l;
      });
      legOfDevice[d] = legs.indexOf(leg);
      localIndex[d] = leg.slices.size();
      leg.slices.add(s);
    }
    this.routing = new SpanningOps(legs.size(), legOfDevice, localIndex);
    this.replies = new SpanningReplies(sessionId, legs.stream().map(l -> l.nodeId).toList(), legOfDevice,
        localIndex, new SpanningReplies.Out() {
          @Override
          public void send(List<Reply> replies) {
            emit(replies);
          }

          @Override
          public void opened(Opened merged) {
            owner.openedAcrossServers(merged);
          }
        });
  }

  /** Opens a stream to each server, then routes the rest of the first frame. */
  void start(ClientFrame first) {
    Op openOp = first.getOps(0);
    replies.expect(openOp.getSeq(), Reply.KindCase.OPENED);
    for (Leg leg : legs) {
      io.spillway.protocol.v1.SliceRequest.Builder pinned = openOp.getOpen().getSlice().toBuilder()
          .clearModels().clearExcludeModels().clearGpuUuids().setGpuCount(leg.slices.size())
          .setMemoryBytes(leg.slices.get(0).memoryBytes()).setComputePercent(leg.slices.get(0).computePercent());
      leg.slices.forEach(s -> pinned.addGpuUuids(s.gpuUuid()));
      Op legOpen = openOp.toBuilder().setOpen(openOp.getOpen().toBuilder().setSlice(pinned)).build();
      leg.call.start(leg, new Metadata());
      leg.call.request(1);
      leg.call.sendMessage(RawFrame.of(ClientFrame.newBuilder().addOps(legOpen).build()));
    }
    route(first.getOpsList().subList(1, first.getOpsCount()));
    askClient();
  }

  // ---- client -> legs

  @Override
  public boolean awaitsAnswers() {
    return replies.awaitsAnswers();
  }

  @Override
  public void fromClient(RawFrame frame) {
    if (done) {
      frame.release();
      return;
    }
    int maxOps = core.config().limits().maxFrameOps();
    int ops;
    try {
      ops = io.spillway.pool.forward.FrameScan.countOps(frame.reader(), maxOps);
    } catch (IOException e) {
      ops = 0; // the parse below reports it
    }
    if (ops > maxOps) {
      int size = frame.size();
      frame.release();
      replies.answerHere(Reply.newBuilder().setError(io.spillway.protocol.v1.Error.newBuilder()
          .setCode(Status.Code.RESOURCE_EXHAUSTED.value()).setOp("frame")
          .setDescription("frame of " + size + " bytes holds more than " + maxOps + " ops, the most a frame"
              + " may (max-frame-ops " + maxOps + "); nothing in it was executed")).build());
      askClient();
      return;
    }
    ClientFrame parsed;
    try {
      parsed = ClientFrame.parseFrom(frame.reader());
    } catch (IOException e) {
      emit(List.of(Reply.newBuilder().setError(io.spillway.protocol.v1.Error.newBuilder()
          .setCode(Status.Code.INVALID_ARGUMENT.value()).setOp("frame")
          .setDescription("malformed frame of " + frame.size() + " bytes: " + e.getMessage())).build()));
      askClient();
      return;
    } finally {
      frame.release();
    }
    route(parsed.getOpsList());
    askClient();
  }

  private void route(List<Op> ops) {
    List<ClientFrame.Builder> out = routing.split(ops, replies);
    long bytes = 0;
    for (int i = 0; i < legs.size(); i++) {
      if (out.get(i).getOpsCount() > 0) {
        RawFrame f = RawFrame.of(out.get(i).build());
        bytes += f.size();
        legs.get(i).call.sendMessage(f);
      }
    }
    core.listener().forwardedUp(owner.tenant(), ops.size(), bytes);
  }

  private void askClient() {
    boolean ready = !done && legs.stream().allMatch(l -> l.call.isReady());
    clientWantsMore = !ready && !done;
    if (ready) {
      owner.requestFromClient();
    }
  }

  private void legReady() {
    if (clientWantsMore) {
      askClient();
    }
  }

  @Override
  public void clientReady() {
    for (Leg leg : legs) {
      if (leg.wantsMore && !done) {
        leg.wantsMore = false;
        leg.call.request(1);
      }
    }
  }

  @Override
  public void clientHalfClosed() {
    legs.forEach(l -> l.call.halfClose());
  }

  @Override
  public void cancel(String why) {
    if (!done) {
      done = true;
      legs.forEach(l -> l.call.cancel(why, null));
    }
  }

  // ---- legs -> client

  private void fromNode(Leg leg, RawFrame frame) {
    if (done) {
      frame.release();
      return;
    }
    ServerFrame parsed;
    try {
      parsed = ServerFrame.parseFrom(frame.reader());
    } catch (IOException e) {
      fail(Status.INTERNAL.withDescription("node " + leg.nodeId + " sent a malformed frame: " + e.getMessage()));
      return;
    } finally {
      frame.release();
    }
    Status refused = replies.fromLeg(leg.index, parsed);
    if (refused != null) {
      fail(refused);
      return;
    }
    int errors = 0;
    for (Reply r : parsed.getRepliesList()) {
      if (r.hasError()) {
        errors++;
      }
    }
    core.listener().forwardedDown(owner.tenant(), parsed.getRepliesCount(), frame.size(), errors);
    if (owner.clientReady()) {
      leg.call.request(1);
    } else {
      leg.wantsMore = true;
    }
  }

  private void emit(List<Reply> replies) {
    owner.sendToClient(RawFrame.of(ServerFrame.newBuilder().addAllReplies(replies).build()));
  }

  private void legClosed(Leg leg, Status status) {
    leg.closed = true;
    if (done) {
      return;
    }
    if (!status.isOk()) {
      fail(Status.UNAVAILABLE.withDescription("node " + leg.nodeId + " holding part of session " + sessionId
          + " is unreachable: " + status.getCode() + (status.getDescription() == null ? ""
          : " " + status.getDescription())));
      if (status.getCode() == Status.Code.UNAVAILABLE) {
        core.nodeUnreachable(leg.nodeId, status);
      }
    } else if (legs.stream().allMatch(l -> l.closed)) {
      done = true;
      owner.finish(Status.OK);
    }
  }

  @Override
  public void lost(Status status) {
    fail(status);
  }

  @Override
  public void shutdown(Status status) {
    fail(status);
  }

  @Override
  public void release() {
    done = true;
  }

  /** Ends the session: every leg is cancelled and the client gets {@code status}. */
  void fail(Status status) {
    if (done) {
      return;
    }
    done = true;
    legs.forEach(l -> l.call.cancel(status.getDescription(), null));
    owner.finish(status);
  }
}
