package io.spillway.pool.session;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.placement.Slice;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.DeviceInfo;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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
 * <p>Ordering: a synchronizing op is answered once every leg has answered it; replies with a higher
 * sequence number wait until then. Read data is held until the read is complete on all legs, so a
 * spanning session's reads cost memory at the gateway (at most one read at a time per session).
 *
 * <p>Unlike single-server sessions, frames are parsed and rebuilt: spanning sessions trade some speed
 * for GPUs on several servers. Threading: runs on the session's executor; the legs' transport callbacks
 * only enqueue onto it.
 */
final class SpanningRoute implements Route {

  private final ForwardedSession owner;
  private final SessionHost core;
  private final SynchronizationContext executor;
  private final String sessionId;
  private final List<Leg> legs = new ArrayList<>();
  private final int[] legOfDevice;
  private final int[] localIndex;
  private final SpanningOps routing;
  private final SpanningOps.Expect sink = new SpanningOps.Expect() {
    @Override
    public void expect(long seq, Reply.KindCase kind) {
      SpanningRoute.this.expect(seq, kind);
    }

    @Override
    public void everyLeg(long seq) {
      everyLeg.put(seq, false);
    }

    @Override
    public void refuse(Op op, Status.Code code, String description) {
      SpanningRoute.this.refuse(op, code, description);
    }
  };
  private final TreeMap<Long, Pending> pending = new TreeMap<>();
  /**
   * Replies no earlier answer holds back yet, in seq order (and in arrival order within a seq): a heap,
   * so that holding and releasing n replies costs n log n, not a sort per frame.
   */
  private final java.util.PriorityQueue<HeldReply> held = new java.util.PriorityQueue<>();
  private long heldCount;

  private record HeldReply(long seq, long order, Reply reply) implements Comparable<HeldReply> {
    @Override
    public int compareTo(HeldReply o) {
      int c = Long.compare(seq, o.seq);
      return c != 0 ? c : Long.compare(order, o.order);
    }
  }

  private void hold(Reply r) {
    held.add(new HeldReply(r.getSeq(), heldCount++, r));
  }
  /**
   * Pipelined ops sent to every leg (load_module, free of a module, ops the legs refuse), by seq: true once
   * one leg's error for it went to the client. The client gets one answer per op, and failed_ops counts
   * the op once, however many legs refuse it. Entries go when a later synchronizing op completes, since
   * each leg answers in op order.
   */
  private final TreeMap<Long, Boolean> everyLeg = new TreeMap<>();
  private long openSeq;
  private boolean done;
  private boolean clientWantsMore;

  private final class Leg extends ClientCall.Listener<RawFrame> {
    final String nodeId;
    final ClientCall<RawFrame, RawFrame> call;
    final List<Slice> slices = new ArrayList<>();
    boolean wantsMore;
    boolean closed;
    /** This leg's errors for ops sent to every leg that another leg had answered first: not forwarded. */
    long duplicateErrors;

    Leg(String nodeId, String address) {
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

  /** Answers awaited for one synchronizing op, one per leg. */
  private static final class Pending {
    int awaiting;
    final List<Reply> data = new ArrayList<>();
    final List<DeviceInfo> devices = new ArrayList<>();
    Opened opened;
    Reply error;
    long failedOps;
    Reply.KindCase kind;
    /** A read whose last chunk came. */
    boolean dataDone;
  }

  SpanningRoute(ForwardedSession owner, SessionHost core, SynchronizationContext executor, String sessionId,
      List<Slice> slices) {
    this.owner = owner;
    this.core = core;
    this.executor = executor;
    this.sessionId = sessionId;
    this.legOfDevice = new int[slices.size()];
    this.localIndex = new int[slices.size()];
    Map<String, Leg> byNode = new LinkedHashMap<>();
    for (int d = 0; d < slices.size(); d++) {
      Slice s = slices.get(d);
      Leg leg = byNode.computeIfAbsent(s.nodeId(), n -> {
        Leg l = new Leg(n, s.address());
        legs.add(l);
        return l;
      });
      legOfDevice[d] = legs.indexOf(leg);
      localIndex[d] = leg.slices.size();
      leg.slices.add(s);
    }
    this.routing = new SpanningOps(legs.size(), legOfDevice, localIndex);
  }

  /** Opens a stream to each server, then routes the rest of the first frame. */
  void start(ClientFrame first) {
    Op openOp = first.getOps(0);
    openSeq = openOp.getSeq();
    Pending p = new Pending();
    p.awaiting = legs.size();
    p.kind = Reply.KindCase.OPENED;
    pending.put(openSeq, p);
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
    return !pending.isEmpty();
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
      hold(Reply.newBuilder().setError(io.spillway.protocol.v1.Error.newBuilder()
          .setCode(Status.Code.RESOURCE_EXHAUSTED.value()).setOp("frame")
          .setDescription("frame of " + size + " bytes holds more than " + maxOps + " ops, the most a frame"
              + " may (max-frame-ops " + maxOps + "); nothing in it was executed")).build());
      List<Reply> out = new ArrayList<>();
      release(out);
      emit(out);
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
    List<ClientFrame.Builder> out = routing.split(ops, sink);
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

  /** Answers an op here, in sequence order with the legs' replies. */
  private void refuse(Op op, Status.Code code, String description) {
    hold(Reply.newBuilder().setSeq(op.getSeq()).setError(io.spillway.protocol.v1.Error.newBuilder()
        .setCode(code.value()).setOp(op.getKindCase().name().toLowerCase(java.util.Locale.ROOT))
        .setDescription(description)).build());
    release(new ArrayList<>());
  }

  private void expect(long seq, Reply.KindCase kind) {
    Pending p = new Pending();
    p.awaiting = legs.size();
    p.kind = kind;
    pending.put(seq, p);
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
    List<Reply> ready = new ArrayList<>();
    int errors = 0;
    for (Reply r : parsed.getRepliesList()) {
      Pending p = pending.get(r.getSeq());
      if (r.hasError()) {
        errors++;
      }
      if (p == null && r.hasError() && everyLeg.containsKey(r.getSeq())) {
        if (everyLeg.put(r.getSeq(), true)) {
          leg.duplicateErrors++;
          continue;
        }
      }
      if (p == null || r.getSeq() == 0) {
        hold(r);
        continue;
      }
      switch (r.getKindCase()) {
        case OPENED -> {
          p.opened = p.opened == null ? r.getOpened() : p.opened;
          for (DeviceInfo d : r.getOpened().getDevicesList()) {
            p.devices.add(d);
          }
          p.awaiting--;
        }
        case READ_DATA -> {
          p.data.add(r);
          if (r.getReadData().getLast()) {
            p.dataDone = true;
            p.awaiting--;
          }
        }
        case SYNCHRONIZED -> {
          p.failedOps += r.getSynchronized().getFailedOps() - leg.duplicateErrors;
          p.awaiting--;
        }
        case CLOSED -> p.awaiting--;
        case ERROR -> {
          if (p.error == null) {
            p.error = r;
          }
          p.awaiting--;
          if (r.getError().getFatal() && p.kind == Reply.KindCase.OPENED) {
            // A leg refused the open: the whole session is refused with its answer.
            emitNow(List.of(r));
            fail(Status.fromCodeValue(r.getError().getCode()).withDescription(r.getError().getDescription()));
            return;
          }
        }
        default -> hold(r);
      }
    }
    release(ready);
    core.listener().forwardedDown(owner.tenant(), parsed.getRepliesCount(), frame.size(), errors);
    if (owner.clientReady()) {
      leg.call.request(1);
    } else {
      leg.wantsMore = true;
    }
  }

  /**
   * Emits, in sequence order, every answer that is complete and every reply no earlier answer holds back.
   * A read at the head streams: once every other leg has answered its barrier, its chunks go to the client
   * as they come, so the gateway holds at most what arrived before that.
   */
  private void release(List<Reply> out) {
    while (true) {
      Map.Entry<Long, Pending> head = pending.firstEntry();
      long barrier = head == null ? Long.MAX_VALUE : head.getKey();
      while (!held.isEmpty() && held.peek().seq() < barrier) {
        out.add(held.poll().reply());
      }
      if (head != null && head.getValue().awaiting == 1 && head.getValue().kind == Reply.KindCase.READ_DATA
          && !head.getValue().dataDone && head.getValue().error == null) {
        out.addAll(head.getValue().data);
        head.getValue().data.clear();
        break;
      }
      if (head == null || head.getValue().awaiting > 0) {
        break;
      }
      pending.pollFirstEntry();
      everyLeg.headMap(head.getKey()).clear();
      out.addAll(answer(head.getKey(), head.getValue()));
    }
    emit(out);
  }

  private List<Reply> answer(long seq, Pending p) {
    if (p.error != null) {
      return List.of(p.error);
    }
    return switch (p.kind) {
      case OPENED -> {
        Opened.Builder merged = p.opened.toBuilder().setSessionId(sessionId).clearDevices();
        // Devices in the session's order: leg by leg, as placement numbered them.
        List<DeviceInfo> byNode = p.devices;
        for (int d = 0; d < legOfDevice.length; d++) {
          String node = legs.get(legOfDevice[d]).nodeId;
          int local = localIndex[d];
          int session = d;
          byNode.stream().filter(x -> x.getNode().equals(node) && x.getIndex() == local).findFirst()
              .ifPresent(x -> merged.addDevices(x.toBuilder().setIndex(session)));
        }
        owner.openedAcrossServers(merged.build());
        yield List.of(Reply.newBuilder().setSeq(seq).setOpened(merged).build());
      }
      case READ_DATA -> p.data;
      case SYNCHRONIZED -> List.of(Reply.newBuilder().setSeq(seq).setSynchronized(
          io.spillway.protocol.v1.Synchronized.newBuilder().setFailedOps(p.failedOps)).build());
      default -> List.of(Reply.newBuilder().setSeq(seq).setClosed(
          io.spillway.protocol.v1.Closed.getDefaultInstance()).build());
    };
  }

  private void emit(List<Reply> replies) {
    if (!replies.isEmpty()) {
      emitNow(replies);
    }
  }

  private void emitNow(List<Reply> replies) {
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
