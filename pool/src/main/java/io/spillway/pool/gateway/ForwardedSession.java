package io.spillway.pool.gateway;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.spillway.pool.forward.FrameScan;
import io.spillway.pool.forward.RawFrame;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.MemoryAsk;
import io.spillway.pool.placement.Placement;
import io.spillway.pool.placement.PlacementStrategy;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One session through the gateway: the client's stream, terminated here, and the stream the gateway
 * opened to the node that holds the session's slice.
 *
 * <p>The first client frame is parsed: its open op is placed by the pool and rewritten to pin the slice
 * to the chosen cards; the node's first answer is rewritten to carry the gateway's session id. Every
 * other frame passes through as bytes ({@link RawFrame}), scanned in place for metrics.
 *
 * <p>Backpressure, both ways: the gateway asks one stream for its next frame only when the other stream
 * is ready to take it, so at most one frame per direction waits in the gateway, and a slow node slows
 * its client through HTTP/2 flow control, not the gateway's memory.
 *
 * <p>Threading: client callbacks arrive on the client connection's event loop, node callbacks on the
 * node connection's; a node going down is reported from the registry's thread. Operations on either call
 * (other than {@code request}, which is thread-safe) are made under this object's monitor.
 */
final class ForwardedSession extends ServerCall.Listener<RawFrame> {
  private static final Logger LOG = Logger.getLogger(ForwardedSession.class.getName());

  private final GatewayCore core;
  private final ServerCall<RawFrame, RawFrame> client;
  private final SessionId id;
  private final Instant openedAt;
  private final ArrayDeque<Long> waitingAnswers = new ArrayDeque<>();
  private final AtomicLong ops = new AtomicLong();
  private final AtomicLong bytesUp = new AtomicLong();
  private final AtomicLong bytesDown = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private ClientCall<RawFrame, RawFrame> node;
  /** Set instead of {@link #node} when the session's GPUs lie on several servers. */
  private volatile SpanningSession spanning;
  private String tenant = "";
  private String clientName = "";
  private List<Slice> slices = List.of();
  private String nodeSessionId = "";
  /** Where the session's stream goes: a node id, or "center" for a spilled session. */
  private String upstreamName = "";
  /** The lease the session runs under: at a center, the edge's; at an edge, the one it borrowed. */
  private String leaseId;
  private SpillTarget.Spill spilled;
  private boolean opened;
  private boolean ended;
  private boolean clientWantsMore;
  private boolean nodeWantsMore;

  ForwardedSession(GatewayCore core, ServerCall<RawFrame, RawFrame> client, SessionId id) {
    this.core = core;
    this.client = client;
    this.id = id;
    this.openedAt = core.clock().instant();
  }

  SessionId id() {
    return id;
  }

  synchronized String leaseId() {
    return leaseId;
  }

  SessionInfo info() {
    return new SessionInfo(id.value(), tenant, clientName, upstreamName,
        nodeSessionId, slices, openedAt, ops.get(), bytesUp.get(), bytesDown.get(), errors.get());
  }

  // ---- client -> gateway

  @Override
  public void onMessage(RawFrame frame) {
    SpanningSession span = spanning;
    if (span != null) {
      span.fromClient(frame);
      return;
    }
    boolean first;
    synchronized (this) {
      if (ended) {
        frame.release();
        return;
      }
      first = node == null;
    }
    if (first) {
      open(frame);
    } else {
      forwardUp(frame);
    }
  }

  private void open(RawFrame frame) {
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
    if (parsed.getOpsCount() == 0 || !parsed.getOps(0).hasOpen()) {
      refuse(0, Status.INVALID_ARGUMENT.withDescription(
          "the first frame of a session must start with an open op"));
      return;
    }
    Op openOp = parsed.getOps(0);
    Open open = openOp.getOpen();
    tenant = open.getTenant();
    clientName = open.getClientName();
    String what = "open (seq " + openOp.getSeq() + ")";
    if (open.hasLease()) {
      openUnderLease(parsed, what);
      return;
    }
    SliceRequest request;
    try {
      request = request(open);
    } catch (IllegalArgumentException e) {
      refuse(openOp.getSeq(), Status.INVALID_ARGUMENT.withDescription(what + ": " + e.getMessage()));
      return;
    }
    SpillTarget spill = core.spillTarget();
    if (spill != null && spill.spillFirst(core.placer().snapshot())) {
      spill(parsed, what, request, "local pool above its spill threshold");
      return;
    }
    Placement placement = core.placer().place(id, request);
    if (placement instanceof Placement.Rejected rejected) {
      String local = rejected.message() + " (pool " + core.config().pool() + ")";
      if (spill != null && rejected.reason() != Placement.Reason.QUOTA_EXCEEDED
          && rejected.reason() != Placement.Reason.DUPLICATE_SESSION) {
        spill(parsed, what, request, local);
      } else {
        refuse(openOp.getSeq(), Status.RESOURCE_EXHAUSTED.withDescription(what + ": " + local));
      }
      return;
    }
    List<Slice> placed = ((Placement.Placed) placement).slices();
    String nodeId = placed.get(0).nodeId();
    if (placed.stream().anyMatch(s -> !s.nodeId().equals(nodeId))) {
      SpanningSession span = new SpanningSession(this, core, id.value(), placed);
      synchronized (this) {
        if (ended) {
          core.placer().release(id);
          return;
        }
        slices = placed;
        spanning = span;
      }
      core.registerSession(this);
      span.start(parsed);
      return;
    }
    openUpstream(parsed, placed, placed.get(0).address(), null);
  }

  /** A center gateway: the session runs on the cards of the lease the edge names. */
  private void openUnderLease(ClientFrame parsed, String what) {
    Op openOp = parsed.getOps(0);
    LeaseAuthority authority = core.leaseAuthority();
    if (authority == null) {
      refuse(openOp.getSeq(), Status.FAILED_PRECONDITION.withDescription(what + ": gateway "
          + core.config().name() + " does not lend capacity under leases"));
      return;
    }
    io.spillway.protocol.v1.LeaseRef lease = openOp.getOpen().getLease();
    authority.admit(lease.getLeaseId(), lease.getEpoch(), tenant).whenComplete((cards, error) -> {
      if (error != null) {
        Status st = Status.fromThrowable(error);
        refuse(openOp.getSeq(), st.withDescription(what + ": " + st.getDescription()));
      } else {
        synchronized (this) {
          leaseId = lease.getLeaseId();
        }
        openUpstream(parsed, cards, cards.get(0).address(), null);
      }
    });
  }

  /** An edge whose pool cannot take the session: borrow center capacity and open it there. */
  private void spill(ClientFrame parsed, String what, SliceRequest request, String localRefusal) {
    long seq = parsed.getOps(0).getSeq();
    SpillTarget target = core.spillTarget();
    target.borrow(id, request, this::fail).whenComplete((spill, error) -> {
      if (error != null) {
        refuse(seq, Status.RESOURCE_EXHAUSTED.withDescription(what + ": " + localRefusal + "; center: "
            + Status.fromThrowable(error).getDescription()));
        return;
      }
      synchronized (this) {
        spilled = spill;
        leaseId = spill.leaseId();
      }
      Op openOp = parsed.getOps(0);
      ClientFrame.Builder withLease = parsed.toBuilder();
      withLease.setOps(0, openOp.toBuilder().setOpen(openOp.getOpen().toBuilder().setLease(
          io.spillway.protocol.v1.LeaseRef.newBuilder().setLeaseId(spill.leaseId()).setEpoch(spill.epoch()))));
      core.listener().spilled(tenant);
      openStream(withLease.build(), spill.centerAddress(), List.of(), "center");
    });
  }

  /** Opens the session on the node holding {@code placed}, pinned to those cards. */
  private void openUpstream(ClientFrame parsed, List<Slice> placed, String address, String via) {
    Op openOp = parsed.getOps(0);
    Open open = openOp.getOpen();
    io.spillway.protocol.v1.SliceRequest.Builder pinned = open.getSlice().toBuilder()
        .clearModels().clearExcludeModels().clearGpuUuids()
        .setGpuCount(placed.size()).setMemoryBytes(placed.get(0).memoryBytes())
        .setComputePercent(placed.get(0).computePercent());
    placed.forEach(s -> pinned.addGpuUuids(s.gpuUuid()));
    ClientFrame.Builder rewritten = parsed.toBuilder();
    rewritten.setOps(0, openOp.toBuilder().setOpen(open.toBuilder().clearLease().setSlice(pinned)));
    openStream(rewritten.build(), address, placed, via);
  }

  private void openStream(ClientFrame first, String address, List<Slice> placed, String via) {
    ClientCall<RawFrame, RawFrame> call = core.channelTo(address).newCall(GatewayCore.NODE_METHOD,
        CallOptions.DEFAULT);
    synchronized (this) {
      if (ended) {
        core.placer().release(id);
        return;
      }
      slices = placed;
      upstreamName = via != null ? via : placed.get(0).nodeId();
      node = call;
      call.start(new NodeListener(), new Metadata());
      call.request(1);
      call.sendMessage(RawFrame.of(first));
      count(first.getOpsCount(), 0, 0);
    }
    core.registerSession(this);
    askClientIfNodeReady();
  }

  private static SliceRequest request(Open open) {
    io.spillway.protocol.v1.SliceRequest s = open.getSlice();
    if (open.getTenant().isBlank()) {
      throw new IllegalArgumentException("tenant is empty");
    }
    SliceRequest.Builder b = SliceRequest.builder(open.getTenant())
        .gpus(Math.max(1, s.getGpuCount()))
        .computePercent(s.getComputePercent())
        .models(s.getModelsList().toArray(String[]::new))
        .excludeModels(s.getExcludeModelsList().toArray(String[]::new))
        .strategy(s.getPlacement() == io.spillway.protocol.v1.Placement.PLACEMENT_SPREAD
            ? PlacementStrategy.SPREAD : PlacementStrategy.BINPACK)
        .sameNode(true);
    switch (s.getMemoryCase()) {
      case MEMORY_BYTES -> b.memoryBytes(s.getMemoryBytes());
      case MEMORY_PERCENT -> b.memoryPercent(s.getMemoryPercent());
      case MEMORY_NOT_SET -> throw new IllegalArgumentException(
          "slice.memory is not set; give memory_bytes or memory_percent");
    }
    return b.build();
  }

  private void forwardUp(RawFrame frame) {
    int opCount = 0;
    int sync = 0;
    try {
      FrameScan.ClientFacts facts = FrameScan.client(frame.reader());
      opCount = facts.ops();
      sync = facts.synchronizing();
    } catch (IOException e) {
      // Not a frame the gateway understands: the node answers it as malformed, the session goes on.
    }
    int size = frame.size();
    synchronized (this) {
      if (ended) {
        frame.release();
        return;
      }
      long now = System.nanoTime();
      for (int i = 0; i < sync; i++) {
        waitingAnswers.add(now);
      }
      node.sendMessage(frame);
    }
    count(opCount, size, 0);
    askClientIfNodeReady();
  }

  private void askClientIfNodeReady() {
    boolean ask;
    synchronized (this) {
      ask = !ended && node.isReady();
      clientWantsMore = !ask && !ended;
    }
    if (ask) {
      client.request(1);
    }
  }

  @Override
  public void onHalfClose() {
    SpanningSession span = spanning;
    if (span != null) {
      span.halfClose();
      return;
    }
    synchronized (this) {
      if (ended) {
        return;
      }
      if (node == null) {
        end(Status.OK, true);
        return;
      }
      node.halfClose();
    }
  }

  @Override
  public void onCancel() {
    SpanningSession span = spanning;
    if (span != null) {
      span.cancel("the client went away");
      synchronized (this) {
        if (!ended) {
          end(Status.CANCELLED, false);
        }
      }
      return;
    }
    synchronized (this) {
      if (ended) {
        return;
      }
      if (node != null) {
        node.cancel("the client went away", null);
      }
      end(Status.CANCELLED, false);
    }
  }

  @Override
  public void onReady() {
    SpanningSession span = spanning;
    if (span != null) {
      span.clientReady();
      return;
    }
    boolean ask;
    synchronized (this) {
      ask = nodeWantsMore && !ended;
      nodeWantsMore = false;
    }
    if (ask) {
      node.request(1);
    }
  }

  // ---- node -> gateway

  private final class NodeListener extends ClientCall.Listener<RawFrame> {
    @Override
    public void onMessage(RawFrame frame) {
      synchronized (ForwardedSession.this) {
        if (ended) {
          frame.release();
          return;
        }
        if (!opened) {
          firstAnswer(frame);
        } else {
          forwardDown(frame);
        }
        boolean ready = client.isReady();
        nodeWantsMore = !ready;
        if (ready) {
          node.request(1);
        }
      }
    }

    @Override
    public void onReady() {
      boolean ask;
      synchronized (ForwardedSession.this) {
        ask = clientWantsMore && !ended;
        clientWantsMore = false;
      }
      if (ask) {
        client.request(1);
      }
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      synchronized (ForwardedSession.this) {
        if (ended) {
          return;
        }
        if (status.isOk()) {
          end(Status.OK, true);
        } else if (status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.INTERNAL
            || status.getCode() == Status.Code.CANCELLED) {
          String nodeId = upstreamName;
          String who = spilled != null ? "center gateway" : "node " + nodeId;
          end(Status.UNAVAILABLE.withDescription(who + " holding session " + id.value()
              + " is unreachable: " + status.getCode() + (status.getDescription() == null ? ""
              : " " + status.getDescription())), true);
          if (status.getCode() == Status.Code.UNAVAILABLE && spilled == null) {
            core.nodeUnreachable(nodeId, status);
          }
        } else {
          end(status, true);
        }
      }
    }
  }

  /** The node's answer to the open: adopt it and give the client the gateway's session id. */
  private void firstAnswer(RawFrame frame) {
    ServerFrame parsed;
    try {
      parsed = ServerFrame.parseFrom(frame.reader());
    } catch (IOException e) {
      end(Status.INTERNAL.withDescription("node sent a malformed answer to open: " + e.getMessage()), true);
      return;
    } finally {
      frame.release();
    }
    ServerFrame.Builder out = parsed.toBuilder();
    for (int i = 0; i < out.getRepliesCount(); i++) {
      Reply r = out.getReplies(i);
      if (r.hasOpened()) {
        nodeSessionId = r.getOpened().getSessionId();
        out.setReplies(i, r.toBuilder().setOpened(r.getOpened().toBuilder().setSessionId(id.value())));
        opened = true;
      }
    }
    if (opened) {
      core.listener().sessionOpened(info());
    }
    count(0, 0, frame.size());
    core.listener().forwardedDown(tenant, parsed.getRepliesCount(), frame.size(), 0);
    client.sendMessage(RawFrame.of(out.build()));
  }

  private void forwardDown(RawFrame frame) {
    int replies = 0;
    int errs = 0;
    int answers = 0;
    try {
      FrameScan.ServerFacts facts = FrameScan.server(frame.reader());
      replies = facts.replies();
      errs = facts.errors();
      answers = facts.answers();
    } catch (IOException e) {
      LOG.log(Level.FINE, "unreadable node frame in session " + id.value(), e);
    }
    long now = System.nanoTime();
    for (int i = 0; i < answers && !waitingAnswers.isEmpty(); i++) {
      core.listener().answered(tenant, now - waitingAnswers.poll());
    }
    errors.addAndGet(errs);
    bytesDown.addAndGet(frame.size());
    core.listener().forwardedDown(tenant, replies, frame.size(), errs);
    client.sendMessage(frame);
  }

  private void count(int opCount, long up, long down) {
    ops.addAndGet(opCount);
    bytesUp.addAndGet(up);
    bytesDown.addAndGet(down);
    if (opCount > 0 || up > 0) {
      core.listener().forwardedUp(tenant, opCount, up);
    }
  }

  /** Ends the session from outside: its node went down, or the gateway stops. */
  void fail(Status status) {
    SpanningSession span = spanning;
    if (span != null) {
      span.fail(status);
      return;
    }
    synchronized (this) {
      if (ended) {
        return;
      }
      if (node != null) {
        node.cancel(status.getDescription(), null);
      }
      end(status, true);
    }
  }

  // ---- for SpanningSession, which calls these holding its own monitor (lock order: span, then this)

  String tenant() {
    return tenant;
  }

  void requestFromClient() {
    client.request(1);
  }

  boolean clientReady() {
    return client.isReady();
  }

  synchronized void sendToClient(RawFrame frame) {
    if (ended) {
      frame.release();
      return;
    }
    client.sendMessage(frame);
  }

  synchronized void openedAcrossServers(io.spillway.protocol.v1.Opened opened) {
    this.opened = true;
    this.nodeSessionId = "(" + slices.stream().map(Slice::nodeId).distinct().count() + " servers)";
    core.listener().sessionOpened(info());
  }

  synchronized void finish(Status status) {
    if (!ended) {
      end(status, true);
    }
  }

  /** Refuses an open: an error reply naming the op, then the stream ends with the same status. */
  private void refuse(long seq, Status status) {
    core.listener().openRefused(tenant, status.getCode());
    synchronized (this) {
      if (ended) {
        return;
      }
      if (seq != 0) {
        ServerFrame reply = ServerFrame.newBuilder().addReplies(Reply.newBuilder().setSeq(seq)
            .setError(Error.newBuilder().setCode(status.getCode().value()).setOp("open")
                .setDescription(status.getDescription()).setFatal(true))).build();
        client.sendMessage(RawFrame.of(reply));
      }
      end(status, true);
    }
  }

  /** Called with the monitor held. */
  private void end(Status status, boolean closeClient) {
    ended = true;
    if (closeClient) {
      try {
        client.close(status, new Metadata());
      } catch (IllegalStateException alreadyClosed) {
        // The client cancelled meanwhile.
      }
    }
    if (opened) {
      core.listener().sessionClosed(info(), status);
    }
    core.unregisterSession(this);
    if (spilled != null) {
      core.spillTarget().giveBack(spilled);
    }
  }
}
