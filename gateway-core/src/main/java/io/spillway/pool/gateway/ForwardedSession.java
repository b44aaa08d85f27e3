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
import io.spillway.protocol.SessionProtocol;
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

  /**
   * Trailer a gateway that does not journal (a center) sets when it ends a session because what was
   * under it was lost (its node, its lease): the edge then knows the gateway itself is alive, and that
   * the lease's cards are not worth trying again.
   */
  static final Metadata.Key<String> UPSTREAM_LOST =
      Metadata.Key.of("spillway-upstream-lost", Metadata.ASCII_STRING_MARSHALLER);

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
  private boolean clientHalfClosed;

  // ---- failover (docs/failover.md); all guarded by this object's monitor
  /** Null when the gateway does not journal (a center), or for sessions spanning servers. */
  private SessionJournal journal;
  /** The client's open op, as it sent it, and the slice it asked for (null under a lease at a center). */
  private Op openOp;
  private SliceRequest request;
  /** Bumped for every new upstream: callbacks of an older one are ignored. */
  private int generation;
  /** The upstream was lost and a new one is being found: client frames are journaled, not sent. */
  private boolean replaying;
  /** A rebuilt upstream was sent its open and has not answered it yet. */
  private boolean reopening;
  /** Replies of a rebuilt upstream are filtered until this op is answered (-1: not filtering). */
  private long filterThrough = -1;
  private long rebuildThrough = -1;
  private java.util.Set<Long> deliveredErrors = java.util.Set.of();
  private long resendReadSeq = -1;
  private long resendReadFrom;
  private long resendReadBytes;
  private long lossNanos;
  private int attempts;
  private Status lastLoss;
  private int replays;
  private String lastMove = "";
  /** A local slice reserved to bring a spilled session home, moved to when the session is idle. */
  private List<Slice> failbackTo;
  /**
   * The lease of a session whose center gateway or link was lost (not its cards), kept while it is usable
   * to reopen the session under it through another replica, or the same one once it answers again.
   */
  private SpillTarget.Spill heldSpill;
  private Metadata closeTrailers;

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

  synchronized SessionInfo info() {
    String why = journal == null ? (core.failoverConfig().journal() ? "not journaled" : "journal off")
        : journal.whyNotReplayable();
    return new SessionInfo(id.value(), tenant, clientName, upstreamName,
        nodeSessionId, slices, openedAt, ops.get(), bytesUp.get(), bytesDown.get(), errors.get(),
        why == null, why == null ? "" : why, journal == null ? 0 : journal.bytes(), replays, lastMove);
  }

  synchronized boolean spilled() {
    return spilled != null;
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
      first = openOp == null;
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
    Op first = parsed.getOps(0);
    Open open = first.getOpen();
    synchronized (this) {
      openOp = first;
      tenant = open.getTenant();
      clientName = open.getClientName();
    }
    String what = "open (seq " + first.getSeq() + ")";
    Status badVersion = SessionProtocol.unsupportedVersion(what, open, "gateway " + core.config().name());
    if (badVersion != null) {
      refuse(first.getSeq(), badVersion);
      return;
    }
    if (open.hasLease()) {
      openUnderLease(parsed, what);
      return;
    }
    SliceRequest asked;
    try {
      asked = request(open);
    } catch (IllegalArgumentException e) {
      refuse(first.getSeq(), Status.INVALID_ARGUMENT.withDescription(what + ": " + e.getMessage()));
      return;
    }
    synchronized (this) {
      request = asked;
    }
    SpillTarget spill = core.spillTarget();
    if (spill != null && spill.spillFirst(core.placer().snapshot())) {
      spill(parsed, what, asked, "local pool above its spill threshold");
      return;
    }
    Placement placement = core.placer().place(id, asked);
    if (placement instanceof Placement.Rejected rejected) {
      String local = rejected.message() + " (pool " + core.config().pool() + ")";
      if (spill != null && rejected.reason() != Placement.Reason.QUOTA_EXCEEDED
          && rejected.reason() != Placement.Reason.DUPLICATE_SESSION) {
        spill(parsed, what, asked, local);
      } else {
        refuse(first.getSeq(), PlacementStatus.of(rejected).withDescription(what + ": " + local));
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
    startJournal(parsed);
    openUpstream(parsed, placed, placed.get(0).address(), null);
  }

  /** An edge journals its single-server sessions, from the ops that follow the open in the first frame. */
  private void startJournal(ClientFrame first) {
    FailoverConfig f = core.failoverConfig();
    if (!f.journal()) {
      return;
    }
    synchronized (this) {
      journal = new SessionJournal(f.maxSessionBytes(), core.journalBudget());
      noticeIfAny(journal.onClientOps(first.getOpsList().subList(1, first.getOpsCount())), false);
    }
  }

  /** A center gateway: the session runs on the cards of the lease the edge names. */
  private void openUnderLease(ClientFrame parsed, String what) {
    Op first = parsed.getOps(0);
    LeaseAuthority authority = core.leaseAuthority();
    if (authority == null) {
      refuse(first.getSeq(), Status.FAILED_PRECONDITION.withDescription(what + ": gateway "
          + core.config().name() + " does not lend capacity under leases"));
      return;
    }
    io.spillway.protocol.v1.LeaseRef lease = first.getOpen().getLease();
    authority.admit(lease.getLeaseId(), lease.getEpoch(), tenant).whenComplete((cards, error) -> {
      if (error != null) {
        Status st = Status.fromThrowable(error);
        refuse(first.getSeq(), st.withDescription(what + ": " + st.getDescription()));
      } else {
        synchronized (this) {
          leaseId = lease.getLeaseId();
        }
        openUpstream(parsed, cards, cards.get(0).address(), null);
      }
    });
  }

  /** An edge whose pool cannot take the session: borrow center capacity and open it there. */
  private void spill(ClientFrame parsed, String what, SliceRequest asked, String localRefusal) {
    long seq = parsed.getOps(0).getSeq();
    SpillTarget target = core.spillTarget();
    borrow(target, asked).whenComplete((spill, error) -> {
      if (error != null) {
        refuse(seq, Status.RESOURCE_EXHAUSTED.withDescription(what + ": " + localRefusal + "; center: "
            + Status.fromThrowable(error).getDescription()));
        return;
      }
      synchronized (this) {
        spilled = spill;
        leaseId = spill.leaseId();
      }
      core.listener().spilled(tenant);
      startJournal(parsed);
      openStream(withLease(parsed, spill), spill.centerAddress(), List.of(), "center");
    });
  }

  /** Borrows center capacity; losing the lease later moves the session if it still runs on it. */
  private java.util.concurrent.CompletableFuture<SpillTarget.Spill> borrow(SpillTarget target, SliceRequest asked) {
    java.util.concurrent.atomic.AtomicReference<String> lease = new java.util.concurrent.atomic.AtomicReference<>();
    return target.borrow(id, asked, st -> leaseLost(lease.get(), st)).whenComplete((spill, error) -> {
      if (spill != null) {
        lease.set(spill.leaseId());
      }
    });
  }

  private static ClientFrame withLease(ClientFrame parsed, SpillTarget.Spill spill) {
    Op first = parsed.getOps(0);
    ClientFrame.Builder b = parsed.toBuilder();
    b.setOps(0, first.toBuilder().setOpen(first.getOpen().toBuilder().setLease(
        io.spillway.protocol.v1.LeaseRef.newBuilder().setLeaseId(spill.leaseId()).setEpoch(spill.epoch()))));
    return b.build();
  }

  /** Opens the session on the node holding {@code placed}, pinned to those cards. */
  private void openUpstream(ClientFrame parsed, List<Slice> placed, String address, String via) {
    openStream(pinned(parsed, placed), address, placed, via);
  }

  private static ClientFrame pinned(ClientFrame parsed, List<Slice> placed) {
    Op first = parsed.getOps(0);
    Open open = first.getOpen();
    io.spillway.protocol.v1.SliceRequest.Builder pinned = open.getSlice().toBuilder()
        .clearModels().clearExcludeModels().clearGpuUuids()
        .setGpuCount(placed.size()).setMemoryBytes(placed.get(0).memoryBytes())
        .setComputePercent(placed.get(0).computePercent());
    placed.forEach(s -> pinned.addGpuUuids(s.gpuUuid()));
    ClientFrame.Builder rewritten = parsed.toBuilder();
    rewritten.setOps(0, first.toBuilder().setOpen(open.toBuilder().clearLease().setSlice(pinned)));
    return rewritten.build();
  }

  private void openStream(ClientFrame first, String address, List<Slice> placed, String via) {
    synchronized (this) {
      if (ended) {
        core.placer().release(id);
        return;
      }
      slices = placed;
      upstreamName = via != null ? via : placed.get(0).nodeId();
      node = newUpstream(address);
      node.sendMessage(RawFrame.of(first));
      count(first.getOpsCount(), 0, 0);
    }
    core.registerSession(this);
    askClientIfNodeReady();
  }

  /** Called with the monitor held: a started call to {@code address} whose callbacks carry a new generation. */
  private ClientCall<RawFrame, RawFrame> newUpstream(String address) {
    ClientCall<RawFrame, RawFrame> call = core.channelTo(address).newCall(GatewayCore.NODE_METHOD,
        CallOptions.DEFAULT);
    NodeListener listener = new NodeListener(++generation, call);
    call.start(listener, new Metadata());
    call.request(1);
    return call;
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
    List<Op> journaled = null;
    boolean journaling;
    synchronized (this) {
      journaling = journal != null;
    }
    try {
      List<FrameScan.WriteFacts> writes = journaling ? FrameScan.writesOnly(frame.reader()) : null;
      boolean dataless;
      synchronized (this) {
        dataless = writes != null && journal != null && journal.dropsWithoutData(writes);
        if (dataless) {
          noticeIfAny(journal.onWritesWithoutData(writes), true);
        }
      }
      if (dataless) {
        // A bulk upload the tail cannot keep: journaled without its data, the frame is not copied.
        journaling = false;
        opCount = writes.size();
      } else if (journaling) {
        // The journal keeps the ops; they alias one copy of the frame's bytes.
        com.google.protobuf.CodedInputStream in = frame.reader();
        byte[] bytes = in.readRawBytes(frame.size());
        com.google.protobuf.CodedInputStream aliased = com.google.protobuf.CodedInputStream.newInstance(bytes);
        aliased.enableAliasing(true);
        aliased.setSizeLimit(Integer.MAX_VALUE);
        journaled = ClientFrame.parseFrom(aliased).getOpsList();
        opCount = journaled.size();
        for (Op op : journaled) {
          if (op.hasRead() || op.hasSynchronize() || op.hasClose()) {
            sync++;
          }
        }
      } else {
        FrameScan.ClientFacts facts = FrameScan.client(frame.reader());
        opCount = facts.ops();
        sync = facts.synchronizing();
      }
    } catch (IOException e) {
      // Not a frame the gateway understands: the node answers it as malformed, the session goes on.
      // A journaled session cannot be rebuilt past it, so it stops being replayable.
      if (journaling) {
        synchronized (this) {
          if (journal != null) {
            noticeIfAny(journal.markUnreplayable("a client frame of " + frame.size()
                + " bytes could not be parsed (" + e.getMessage() + ")"), true);
          }
        }
      }
    }
    int size = frame.size();
    synchronized (this) {
      if (ended) {
        frame.release();
        return;
      }
      if (journal != null && journaled != null) {
        noticeIfAny(journal.onClientOps(journaled), true);
      }
      if (replaying || node == null) {
        // Sent with the journal's tail once the session is rebuilt.
        frame.release();
        clientWantsMore = true;
        count(opCount, size, 0);
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
      ask = !ended && node != null && !replaying && node.isReady();
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
      clientHalfClosed = true;
      if (openOp == null) {
        end(Status.OK, true);
        return;
      }
      if (node != null && !replaying) {
        node.halfClose();
      }
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
    ClientCall<RawFrame, RawFrame> ask;
    synchronized (this) {
      ask = nodeWantsMore && !ended ? node : null;
      nodeWantsMore = false;
    }
    if (ask != null) {
      ask.request(1);
    }
  }

  // ---- node -> gateway

  private final class NodeListener extends ClientCall.Listener<RawFrame> {
    private final int gen;
    private final ClientCall<RawFrame, RawFrame> call;

    NodeListener(int gen, ClientCall<RawFrame, RawFrame> call) {
      this.gen = gen;
      this.call = call;
    }

    private boolean current() {
      return !ended && generation == gen && node == call;
    }

    @Override
    public void onMessage(RawFrame frame) {
      synchronized (ForwardedSession.this) {
        if (!current()) {
          frame.release();
          return;
        }
        if (reopening) {
          reopenAnswer(frame);
        } else if (filterThrough >= 0) {
          filterDown(frame);
        } else if (!opened) {
          firstAnswer(frame);
        } else {
          forwardDown(frame);
        }
        if (!current()) {
          return;
        }
        maybeFailBack();
        if (!current()) {
          return;
        }
        boolean ready = client.isReady();
        nodeWantsMore = !ready;
        if (ready) {
          call.request(1);
        }
      }
    }

    @Override
    public void onReady() {
      boolean ask;
      synchronized (ForwardedSession.this) {
        ask = current() && !replaying && clientWantsMore;
        if (ask) {
          clientWantsMore = false;
        }
      }
      if (ask) {
        client.request(1);
      }
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      synchronized (ForwardedSession.this) {
        if (!current()) {
          return;
        }
        if (status.isOk()) {
          end(Status.OK, true);
          return;
        }
        Status.Code code = status.getCode();
        boolean lost = code == Status.Code.UNAVAILABLE || code == Status.Code.INTERNAL
            || code == Status.Code.CANCELLED || code == Status.Code.DEADLINE_EXCEEDED
            || code == Status.Code.UNKNOWN;
        if (!lost && !reopening) {
          // The session's own failure (a fatal op): nothing to rebuild.
          end(status, true);
          return;
        }
        String who = spilled != null ? "center gateway " + spilled.centerAddress() : "node " + upstreamName;
        Status why = Status.UNAVAILABLE.withDescription(who + " holding session " + id.value()
            + (reopening ? " refused it" : " is unreachable") + ": " + code
            + (status.getDescription() == null ? "" : " " + status.getDescription()));
        boolean centerAlive = trailers != null && trailers.containsKey(UPSTREAM_LOST);
        boolean keepLease = false;
        if (code == Status.Code.UNAVAILABLE && !centerAlive) {
          if (spilled != null) {
            core.spillTarget().unreachable(spilled, status);
            keepLease = true;
          } else {
            core.nodeUnreachable(upstreamName, status);
          }
        }
        if (keepLease) {
          heldSpill = spilled;
          spilled = null;
        }
        upstreamLost(why);
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
    journalFacts(parsed);
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
      if (journal != null) {
        journal.onServerFacts(facts);
      }
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

  /** Feeds the journal what a parsed frame (on its way to the client) answered. */
  private void journalFacts(ServerFrame frame) {
    if (journal == null) {
      return;
    }
    for (Reply r : frame.getRepliesList()) {
      switch (r.getKindCase()) {
        case ERROR -> journal.failed(r.getSeq());
        case SYNCHRONIZED, CLOSED, GLOBAL_INFO, ELAPSED -> journal.answered(r.getSeq());
        case READ_DATA -> {
          if (r.getReadData().getLast()) {
            journal.answered(r.getSeq());
          }
        }
        default -> { }
      }
    }
  }

  private void count(int opCount, long up, long down) {
    ops.addAndGet(opCount);
    bytesUp.addAndGet(up);
    bytesDown.addAndGet(down);
    if (opCount > 0 || up > 0) {
      core.listener().forwardedUp(tenant, opCount, up);
    }
  }

  /** Tells the client something that answers no op. Called with the monitor held. */
  private void notice(String message, List<io.spillway.protocol.v1.DeviceInfo> devices) {
    client.sendMessage(RawFrame.of(ServerFrame.newBuilder().addReplies(Reply.newBuilder().setSeq(0)
        .setNotice(io.spillway.protocol.v1.Notice.newBuilder().setMessage(message).addAllDevices(devices)))
        .build()));
  }

  private void noticeIfAny(String message, boolean log) {
    if (message != null && !ended) {
      if (log) {
        LOG.warning(() -> "session " + id.value() + " of tenant " + tenant + ": " + message);
      }
      notice(message, List.of());
    }
  }

  // ---- failover

  /** The upstream is gone or must be left (node down, lease lost, link cut): rebuild the session elsewhere. */
  void fail(Status status) {
    SpanningSession span = spanning;
    if (span != null) {
      span.fail(status);
      return;
    }
    synchronized (this) {
      if (!ended && !replaying) {
        upstreamLost(status);
      }
    }
  }

  /** Lease {@code lost} was lost (expired, revoked, not renewable): move if the session still runs on it. */
  private void leaseLost(String lost, Status status) {
    synchronized (this) {
      if (!ended && !replaying && spilled != null && spilled.leaseId().equals(lost)) {
        upstreamLost(status);
      }
    }
  }

  /** Ends the session without rebuilding it: the gateway stops. */
  void shutdown(Status status) {
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

  /** Called with the monitor held. */
  private void upstreamLost(Status why) {
    String notReplayable = !opened ? "it was not open yet"
        : journal == null ? null : journal.whyNotReplayable();
    if (journal == null || notReplayable != null || !core.serving()) {
      if (node != null) {
        node.cancel(why.getDescription(), null);
      }
      if (heldSpill != null) {
        core.spillTarget().giveBack(heldSpill);
        heldSpill = null;
      }
      if (journal != null && notReplayable != null && opened) {
        core.listener().replayFailed(tenant, why.getDescription());
        end(Status.FAILED_PRECONDITION.withDescription(why.getDescription() + "; the session cannot be"
            + " rebuilt on another GPU: " + notReplayable), true);
      } else {
        if (journal == null && core.serving()) {
          closeTrailers = new Metadata();
          closeTrailers.put(UPSTREAM_LOST, upstreamName.isEmpty() ? "lost" : upstreamName);
        }
        end(why, true);
      }
      return;
    }
    if (lossNanos == 0) {
      lossNanos = System.nanoTime();
    }
    lastLoss = why;
    leaveUpstream("lost: " + why.getDescription());
    LOG.info(() -> "session " + id.value() + " of tenant " + tenant + ": " + why.getDescription()
        + "; rebuilding it (attempt " + (attempts + 1) + ")");
    scheduleReplay();
  }

  /** Called with the monitor held: cancels the current upstream and gives back what it held. */
  private void leaveUpstream(String why) {
    replaying = true;
    reopening = false;
    filterThrough = -1;
    ClientCall<RawFrame, RawFrame> old = node;
    node = null;
    generation++;
    if (old != null) {
      old.cancel("session " + id.value() + " moves elsewhere (" + why + ")", null);
    }
    if (spilled != null) {
      core.spillTarget().giveBack(spilled);
      spilled = null;
      leaseId = null;
    } else {
      core.placer().release(id);
    }
    if (failbackTo != null) {
      core.placer().release(id);
      failbackTo = null;
    }
    waitingAnswers.clear();
  }

  private void scheduleReplay() {
    long delay = attempts == 0 ? 0 : Math.min(2000, 50L << Math.min(attempts, 6));
    attempts++;
    core.schedule(this::replay, delay);
  }

  /** Finds a new slice (local first, then the center) and rebuilds the session there. Off the monitor. */
  private void replay() {
    SliceRequest asked;
    synchronized (this) {
      if (ended || !replaying) {
        return;
      }
      long waited = System.nanoTime() - lossNanos;
      if (waited > core.failoverConfig().replayDeadline().toNanos()) {
        core.listener().replayFailed(tenant, lastLoss.getDescription());
        end(Status.UNAVAILABLE.withDescription("session " + id.value() + " could not be rebuilt within "
            + core.failoverConfig().replayDeadline() + " after it was " + lastLoss.getDescription()), true);
        return;
      }
      asked = request;
    }
    SpillTarget spill = core.spillTarget();
    boolean spillFirst = spill != null && spill.spillFirst(core.placer().snapshot());
    String localRefusal = "local pool above its spill threshold";
    if (!spillFirst) {
      LocalPlacement local = placeOnOneNode(asked);
      if (local.slices() != null) {
        SpillTarget.Spill held;
        synchronized (this) {
          held = heldSpill;
          heldSpill = null;
        }
        if (held != null) {
          spill.giveBack(held);
        }
        resendLocal(local.slices());
        return;
      }
      localRefusal = local.refusal();
    }
    if (spill == null) {
      retryLater(Status.UNAVAILABLE.withDescription(localRefusal));
      return;
    }
    SpillTarget.Spill held;
    synchronized (this) {
      held = heldSpill;
      heldSpill = null;
    }
    if (held != null) {
      java.util.Optional<SpillTarget.Spill> again = spill.elsewhere(held);
      if (again.isPresent()) {
        resendSpilled(again.get());
        return;
      }
      spill.giveBack(held);
    }
    String refusal = localRefusal;
    borrow(spill, asked).whenComplete((borrowed, error) -> {
      if (error != null) {
        retryLater(Status.UNAVAILABLE.withDescription(refusal + "; center: "
            + Status.fromThrowable(error).getDescription()));
      } else {
        resendSpilled(borrowed);
      }
    });
  }

  /** Local slices for the session (reserved in its name), or null and why not. */
  private record LocalPlacement(List<Slice> slices, String refusal) {}

  /** Places a rebuilt or returning session on one server of the local pool: it cannot span servers. */
  private LocalPlacement placeOnOneNode(SliceRequest asked) {
    Placement p = core.placer().place(id, asked);
    if (p instanceof Placement.Rejected rejected) {
      return new LocalPlacement(null, rejected.message());
    }
    List<Slice> placed = ((Placement.Placed) p).slices();
    if (placed.stream().map(Slice::nodeId).distinct().count() != 1) {
      core.placer().release(id);
      return new LocalPlacement(null, "the local pool can only place it across servers");
    }
    return new LocalPlacement(placed, null);
  }

  private void retryLater(Status why) {
    synchronized (this) {
      if (ended || !replaying) {
        return;
      }
      lastLoss = Status.UNAVAILABLE.withDescription(lastLoss.getDescription() + " (then: "
          + why.getDescription() + ")");
      scheduleReplay();
    }
  }

  private void resendLocal(List<Slice> placed) {
    synchronized (this) {
      if (ended || !replaying) {
        core.placer().release(id);
        return;
      }
      ClientFrame open = pinned(ClientFrame.newBuilder().addOps(openOp).build(), placed);
      rebuild(open, placed.get(0).address(), placed, placed.get(0).nodeId());
    }
  }

  private void resendSpilled(SpillTarget.Spill borrowed) {
    synchronized (this) {
      if (ended || !replaying) {
        core.spillTarget().giveBack(borrowed);
        return;
      }
      spilled = borrowed;
      leaseId = borrowed.leaseId();
      ClientFrame open = withLease(ClientFrame.newBuilder().addOps(openOp).build(), borrowed);
      rebuild(open, borrowed.centerAddress(), List.of(), "center");
    }
  }

  /** Largest frame of rebuild ops the gateway sends. */
  private static final int REBUILD_FRAME_BYTES = 4 << 20;

  /**
   * Called with the monitor held: opens the session on the new upstream and sends the journal's base
   * and tail. Replies are filtered until the tail is answered: the new Opened becomes a Notice, errors
   * and read data the client already has are dropped.
   */
  private void rebuild(ClientFrame open, String address, List<Slice> placed, String via) {
    String notReplayable = journal.whyNotReplayable();
    if (notReplayable != null) {
      // What the client sent while a new slice was being found could not all be journaled.
      core.listener().replayFailed(tenant, notReplayable);
      end(Status.FAILED_PRECONDITION.withDescription("session " + id.value() + " was lost ("
          + (lastLoss == null ? "moved" : lastLoss.getDescription()) + ") and cannot be rebuilt on another"
          + " GPU: " + notReplayable), true);
      return;
    }
    List<Op> base = journal.rebuildOps();
    List<Op> tailOps = journal.tailOps();
    String from = upstreamName;
    slices = placed;
    upstreamName = via;
    node = newUpstream(address);
    replaying = false;
    reopening = true;
    rebuildThrough = base.isEmpty() ? -1 : base.get(base.size() - 1).getSeq();
    filterThrough = tailOps.isEmpty() ? Math.max(0, rebuildThrough) : tailOps.get(tailOps.size() - 1).getSeq();
    deliveredErrors = journal.failedInTail();
    resendReadSeq = journal.partialReadSeq();
    resendReadBytes = journal.partialReadBytes();
    resendReadFrom = 0;
    for (Op op : tailOps) {
      if (op.getSeq() == resendReadSeq && op.hasRead()) {
        resendReadFrom = op.getRead().getOffset();
      }
    }
    node.sendMessage(RawFrame.of(open));
    sendBatched(base);
    sendBatched(tailOps);
    // The last op sent in the old stream may have been a synchronizing one whose answer now comes from the
    // new stream; the latency metric restarts from here.
    long now = System.nanoTime();
    for (Op op : tailOps) {
      if (op.hasRead() || op.hasSynchronize() || op.hasClose()) {
        waitingAnswers.add(now);
      }
    }
    if (clientHalfClosed) {
      node.halfClose();
    }
    // A link that accepts connections but carries nothing (a cut that blackholes, a half-open proxy) would
    // leave the rebuilt open unanswered with no error: give it a bound, then try again elsewhere.
    int gen = generation;
    core.schedule(() -> reopenTimedOut(gen), REOPEN_TIMEOUT_MILLIS);
    lastMove = from + " -> " + via;
    LOG.info(() -> "session " + id.value() + " of tenant " + tenant + ": rebuilding on " + via + " ("
        + base.size() + " journaled ops, " + tailOps.size() + " resent)");
    core.schedule(this::askClientIfNodeReady, 0);
  }

  /** How long a rebuilt open may go unanswered before the attempt counts as failed. */
  static final long REOPEN_TIMEOUT_MILLIS = 3_000;

  private void reopenTimedOut(int gen) {
    synchronized (this) {
      if (ended || !reopening || generation != gen) {
        return;
      }
      String who = spilled != null ? "center gateway " + spilled.centerAddress() : "node " + upstreamName;
      Status why = Status.UNAVAILABLE.withDescription(who + " did not answer the rebuilt open of session "
          + id.value() + " within " + REOPEN_TIMEOUT_MILLIS + " ms");
      if (spilled != null) {
        core.spillTarget().unreachable(spilled, why);
        heldSpill = spilled;
        spilled = null;
      }
      upstreamLost(why);
    }
  }

  private void sendBatched(List<Op> list) {
    ClientFrame.Builder frame = ClientFrame.newBuilder();
    long bytes = 0;
    for (Op op : list) {
      int size = op.getSerializedSize();
      if (frame.getOpsCount() > 0 && bytes + size > REBUILD_FRAME_BYTES) {
        node.sendMessage(RawFrame.of(frame.build()));
        frame = ClientFrame.newBuilder();
        bytes = 0;
      }
      frame.addOps(op);
      bytes += size;
    }
    if (frame.getOpsCount() > 0) {
      node.sendMessage(RawFrame.of(frame.build()));
    }
  }

  /** The rebuilt upstream's first frame: its Opened becomes a Notice to the client. */
  private void reopenAnswer(RawFrame frame) {
    ServerFrame parsed;
    try {
      parsed = ServerFrame.parseFrom(frame.reader());
    } catch (IOException e) {
      upstreamLost(Status.UNAVAILABLE.withDescription("malformed answer to a rebuilt open: " + e.getMessage()));
      return;
    } finally {
      frame.release();
    }
    ServerFrame.Builder rest = ServerFrame.newBuilder();
    for (Reply r : parsed.getRepliesList()) {
      if (r.hasOpened()) {
        reopening = false;
        nodeSessionId = r.getOpened().getSessionId();
        replays++;
        attempts = 0;
        long gapNanos = System.nanoTime() - lossNanos;
        lossNanos = 0;
        String message = "session " + id.value() + " moved to " + upstreamName + " (" + lastMove + ", after "
            + (lastLoss == null ? "a move" : lastLoss.getDescription()) + ")";
        LOG.info(() -> message + " in " + gapNanos / 1_000_000 + " ms");
        core.listener().sessionReplayed(tenant, gapNanos);
        notice(message, r.getOpened().getDevicesList());
      } else if (r.hasError() && reopening) {
        upstreamLost(Status.UNAVAILABLE.withDescription(upstreamName + " refused the rebuilt open: "
            + r.getError().getDescription()));
        return;
      } else {
        rest.addReplies(r);
      }
    }
    if (rest.getRepliesCount() > 0) {
      filterParsed(rest.build());
    }
  }

  private void filterDown(RawFrame frame) {
    ServerFrame parsed;
    try {
      parsed = ServerFrame.parseFrom(frame.reader());
    } catch (IOException e) {
      frame.release();
      upstreamLost(Status.UNAVAILABLE.withDescription("malformed frame from a rebuilt upstream: "
          + e.getMessage()));
      return;
    }
    frame.release();
    filterParsed(parsed);
  }

  /** Drops from a rebuilt upstream's replies what the client already has; ends filtering past the tail. */
  private void filterParsed(ServerFrame parsed) {
    ServerFrame.Builder out = ServerFrame.newBuilder();
    long answeredSeq = -1;
    int errs = 0;
    for (Reply r : parsed.getRepliesList()) {
      switch (r.getKindCase()) {
        case OPENED -> { }
        case ERROR -> {
          if (r.getSeq() <= rebuildThrough) {
            node.cancel("rebuild failed", null);
            core.listener().replayFailed(tenant, r.getError().getDescription());
            end(Status.FAILED_PRECONDITION.withDescription("session " + id.value() + " could not be rebuilt on "
                + upstreamName + ": journaled " + r.getError().getOp() + " (seq " + r.getSeq() + ") failed there: "
                + r.getError().getDescription()), true);
            return;
          }
          if (!deliveredErrors.contains(r.getSeq())) {
            out.addReplies(r);
            errs++;
          }
          // The node got this far: ops up to it are done.
          answeredSeq = Math.max(answeredSeq, r.getSeq());
        }
        case READ_DATA -> {
          io.spillway.protocol.v1.ReadData d = r.getReadData();
          if (r.getSeq() == resendReadSeq) {
            long delivered = resendReadFrom + resendReadBytes;
            long start = d.getOffset();
            long end = start + d.getData().size();
            if (end <= delivered && !d.getLast()) {
              continue;
            }
            if (start < delivered) {
              int skip = (int) Math.min(d.getData().size(), delivered - start);
              d = d.toBuilder().setOffset(start + skip).setData(d.getData().substring(skip)).build();
            }
            resendReadBytes = Math.max(resendReadBytes, end - resendReadFrom);
            if (!d.getLast()) {
              journal.readDelivered(r.getSeq(), resendReadBytes);
            }
          }
          if (d.getData().isEmpty() && !d.getLast()) {
            continue;
          }
          out.addReplies(r.toBuilder().setReadData(d));
          if (d.getLast()) {
            answeredSeq = Math.max(answeredSeq, r.getSeq());
          }
        }
        case SYNCHRONIZED, CLOSED, GLOBAL_INFO, ELAPSED -> {
          // A variable binding the base replays was answered long ago.
          if (r.getSeq() > rebuildThrough) {
            out.addReplies(r);
            answeredSeq = Math.max(answeredSeq, r.getSeq());
          }
        }
        default -> out.addReplies(r);
      }
    }
    ServerFrame built = out.build();
    journalFacts(built);
    if (built.getRepliesCount() > 0) {
      int size = built.getSerializedSize();
      errors.addAndGet(errs);
      bytesDown.addAndGet(size);
      long now = System.nanoTime();
      for (Reply r : built.getRepliesList()) {
        if ((r.hasSynchronized() || r.hasClosed() || (r.hasReadData() && r.getReadData().getLast()))
            && !waitingAnswers.isEmpty()) {
          core.listener().answered(tenant, now - waitingAnswers.poll());
        }
      }
      core.listener().forwardedDown(tenant, built.getRepliesCount(), size, errs);
      client.sendMessage(RawFrame.of(built));
    }
    if (answeredSeq >= filterThrough) {
      filterThrough = -1;
      resendReadSeq = -1;
      deliveredErrors = java.util.Set.of();
    }
  }

  // ---- failback: a spilled session comes home when local capacity returns

  /** Called on the gateway's timer for spilled sessions when the failback policy is not NEVER. */
  void tryFailBack() {
    FailoverConfig.Failback policy = core.failoverConfig().failback();
    SliceRequest asked;
    synchronized (this) {
      if (policy == FailoverConfig.Failback.NEVER || ended || replaying || reopening || filterThrough >= 0
          || spilled == null || journal == null || failbackTo != null || request == null
          || journal.whyNotReplayable() != null) {
        return;
      }
      asked = request;
    }
    SpillTarget spill = core.spillTarget();
    if (spill != null && spill.spillFirst(core.placer().snapshot())) {
      return;
    }
    List<Slice> home = placeOnOneNode(asked).slices();
    if (home == null) {
      return;
    }
    synchronized (this) {
      if (ended || replaying || spilled == null) {
        core.placer().release(id);
        return;
      }
      failbackTo = home;
      if (policy == FailoverConfig.Failback.IMMEDIATE || journal.idle()) {
        maybeFailBack();
      }
    }
  }

  /** Called with the monitor held: moves to the reserved local slice if the session may move now. */
  private void maybeFailBack() {
    if (failbackTo == null || ended || replaying || reopening || filterThrough >= 0) {
      return;
    }
    boolean now = core.failoverConfig().failback() == FailoverConfig.Failback.IMMEDIATE || journal.idle();
    if (!now || journal.whyNotReplayable() != null) {
      return;
    }
    List<Slice> home = failbackTo;
    failbackTo = null; // taken over: leaving the center must not release it
    lastLoss = Status.OK.withDescription("local capacity returned (failback "
        + core.failoverConfig().failback().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + ")");
    lossNanos = System.nanoTime();
    leaveUpstream("back to the local pool");
    core.listener().failedBack(tenant);
    ClientFrame open = pinned(ClientFrame.newBuilder().addOps(openOp).build(), home);
    rebuild(open, home.get(0).address(), home, home.get(0).nodeId());
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
        client.close(status, closeTrailers != null ? closeTrailers : new Metadata());
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
    if (heldSpill != null) {
      core.spillTarget().giveBack(heldSpill);
      heldSpill = null;
    }
    if (journal != null) {
      journal.close();
    }
  }
}
