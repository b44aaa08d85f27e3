package io.spillway.pool.failover;

import com.google.protobuf.ByteString;
import io.spillway.pool.forward.FrameScan;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Op;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What an edge gateway keeps of one session to rebuild it on another slice: the state as of the last
 * completed synchronizing call (the <em>base</em>: loaded modules, live allocations, and the contents of
 * persistent buffers as the host wrote them), and every op sent since (the <em>tail</em>).
 *
 * <p>Rebuilding a session is: open it on the new slice, send the base's ops (each with its original
 * sequence number, in order), then the tail. Scratch (non-persistent) buffers are not journaled: the
 * contract, checked where the gateway can see it, is that an op after a synchronizing call depends only on
 * scratch data written after that call. So the tail must not read a scratch buffer that was last written
 * before it, and no kernel may write a persistent buffer (its journaled contents would be stale).
 *
 * <p>Bounds: the journal holds at most {@code maxBytes} for the session and draws every byte from the
 * gateway's {@link Budget}. When a persistent write or a module does not fit, the session can never be
 * rebuilt again and the journal is dropped; when scratch data in the tail does not fit, its payload is
 * dropped and the session cannot be rebuilt until the next synchronizing call completes. Either way
 * {@link #onClientOps} returns a notice for the client, and {@link #whyNotReplayable} says why.
 *
 * <p>Not thread-safe: the session calls it holding its monitor.
 */
final class SessionJournal {

  /** The gateway-wide pool of journal bytes. */
  interface Budget {
    /** Takes {@code bytes} if the gateway's bound allows; false otherwise. */
    boolean tryTake(long bytes);

    void give(long bytes);
  }

  /** A tail op and what it was charged. */
  private record Entry(Op op, long bytes, boolean stripped) {}

  /** A live buffer in the base. */
  private static final class BaseBuffer {
    final Op alloc;
    final long size;
    final boolean persistent;
    /** Writes and fills of a persistent buffer, in order, with their own copies of the data. */
    final List<Op> contents = new ArrayList<>();
    long contentBytes;
    /** A scratch buffer written (by the host or a kernel) since it was allocated. */
    boolean dirty;

    BaseBuffer(Op alloc) {
      this.alloc = alloc;
      this.size = alloc.getAlloc().getBytes();
      this.persistent = alloc.getAlloc().getPersistent();
    }
  }

  /** Bytes charged per op besides its payload (the op's own fields). */
  private static final long OP_OVERHEAD = 64;

  private final long maxBytes;
  private final Budget budget;
  /** Persistence of each handle as of the last op received (the tail included). */
  private final Map<Long, Boolean> persistentNow = new HashMap<>();
  private final Map<Long, Op> modules = new HashMap<>();
  private final Map<Long, BaseBuffer> buffers = new HashMap<>();
  private final ArrayDeque<Entry> tail = new ArrayDeque<>();
  private final ArrayDeque<Long> pendingSync = new ArrayDeque<>();
  /** Ops of the tail that failed (their errors reached the client). */
  private final Set<Long> failed = new HashSet<>();
  private long baseBytes;
  private long tailBytes;
  private int strippedInTail;
  /** The read being answered when the last frame went to the client, and its bytes delivered so far. */
  private long readSeq = -1;
  private long readDelivered;
  private String broken;
  private boolean overflowTold;

  SessionJournal(long maxBytes, Budget budget) {
    this.maxBytes = maxBytes;
    this.budget = budget;
  }

  // ---- client -> node

  /**
   * Records ops on their way to the node.
   *
   * @return a notice for the client when the session just stopped being replayable, else null
   */
  String onClientOps(List<Op> ops) {
    String notice = null;
    for (Op op : ops) {
      switch (op.getKindCase()) {
        case ALLOC -> persistentNow.put(op.getAlloc().getHandle(), op.getAlloc().getPersistent());
        case FREE -> persistentNow.remove(op.getFree().getHandle());
        case LAUNCH -> {
          for (KernelArg arg : op.getLaunch().getArgsList()) {
            if (arg.hasPtr() && arg.getPtr().getAccess() != Access.ACCESS_READ
                && Boolean.TRUE.equals(persistentNow.get(arg.getPtr().getHandle())) && broken == null) {
              notice = breakJournal("kernel " + op.getLaunch().getFunction() + " (seq " + op.getSeq()
                  + ") was given persistent buffer " + arg.getPtr().getHandle() + " as "
                  + access(arg.getPtr().getAccess()) + ": a kernel may have written it, so its journaled"
                  + " contents would be stale on another GPU (pass it as KernelArg.in if the kernel only"
                  + " reads it)");
            }
          }
        }
        case READ, SYNCHRONIZE, CLOSE -> pendingSync.add(op.getSeq());
        default -> { }
      }
      if (broken != null || op.hasOpen()) {
        continue;
      }
      long bytes = op.getSerializedSize() + OP_OVERHEAD;
      boolean fits = baseBytes + tailBytes + bytes <= maxBytes
          && (needsBase(op) || (strippedInTail == 0 && tailBytes + bytes <= maxTailBytes()));
      if (fits && budget.tryTake(bytes)) {
        tail.add(new Entry(op, bytes, false));
        tailBytes += bytes;
        continue;
      }
      String bound = baseBytes + tailBytes + bytes > maxBytes
          ? "the session's journal bound of " + maxBytes + " bytes"
          : !fits ? "the bound on data since the last synchronizing call (" + maxTailBytes() + " bytes, a"
              + " quarter of the session's)"
          : "the gateway's journal bound (all sessions together)";
      if (needsBase(op)) {
        notice = breakJournal("journaling " + describe(op) + " would pass " + bound);
        continue;
      }
      String told = addStripped(strip(op), describe(op) + " would pass " + bound);
      notice = told != null ? told : notice;
    }
    return notice;
  }

  /**
   * Adds a tail op whose data is not kept; the session cannot be rebuilt until the tail clears.
   *
   * @return the notice for the client the first time this happens to the session, else null (a client
   *     that uploads more than the bound between synchronizing calls does it every time, and the reason
   *     does not change)
   */
  private String addStripped(Op stripped, String why) {
    long small = stripped.getSerializedSize() + OP_OVERHEAD;
    budget.give(-small);
    tail.add(new Entry(stripped, small, true));
    tailBytes += small;
    if (strippedInTail++ == 0 && !overflowTold) {
      overflowTold = true;
      return "session cannot be rebuilt on another GPU until its next synchronizing call completes: "
          + why + " (said once; /sessions shows it each time)";
    }
    return null;
  }

  /** Scratch data since the last synchronizing call: at most a quarter of the session's bound. */
  private long maxTailBytes() {
    return maxBytes / 4;
  }

  /**
   * Whether a frame of writes only ({@code writes}) can be journaled without its data: every write is
   * to a scratch buffer, and the tail cannot keep them anyway (it already passed its bound, or would).
   * Then the gateway does not copy the frame (a bulk upload passes through untouched).
   */
  boolean dropsWithoutData(List<FrameScan.WriteFacts> writes) {
    if (broken != null) {
      return true;
    }
    long total = 0;
    for (FrameScan.WriteFacts w : writes) {
      if (!Boolean.FALSE.equals(persistentNow.get(w.handle()))) {
        return false;
      }
      total += w.length() + OP_OVERHEAD;
    }
    return strippedInTail > 0 || tailBytes + total > maxTailBytes();
  }

  /** Journals the writes of {@link #dropsWithoutData} as ops without data; returns a notice or null. */
  String onWritesWithoutData(List<FrameScan.WriteFacts> writes) {
    if (broken != null) {
      return null;
    }
    String notice = null;
    for (FrameScan.WriteFacts w : writes) {
      String told = addStripped(Op.newBuilder().setSeq(w.seq()).setWrite(io.spillway.protocol.v1.Write
          .newBuilder().setHandle(w.handle()).setOffset(w.offset())).build(), "writes since the last one pass"
          + " the bound on data since the last synchronizing call (" + maxTailBytes() + " bytes, a quarter of"
          + " the session's)");
      notice = told != null ? told : notice;
    }
    return notice;
  }

  /** Whether the op's payload would move into the base when its synchronizing call completes. */
  private boolean needsBase(Op op) {
    return switch (op.getKindCase()) {
      case LOAD_MODULE -> true;
      case WRITE -> Boolean.TRUE.equals(persistentNow.get(op.getWrite().getHandle()));
      default -> false;
    };
  }

  private static Op strip(Op op) {
    if (op.hasWrite()) {
      return op.toBuilder().setWrite(op.getWrite().toBuilder().setData(ByteString.EMPTY)).build();
    }
    return op;
  }

  /** The session can never be rebuilt again; returns the notice for the client. */
  String markUnreplayable(String why) {
    return broken != null ? null : breakJournal(why);
  }

  private String breakJournal(String why) {
    broken = why;
    budget.give(baseBytes + tailBytes);
    baseBytes = 0;
    tailBytes = 0;
    modules.clear();
    buffers.clear();
    tail.clear();
    strippedInTail = 0;
    return "session can no longer be rebuilt on another GPU: " + why;
  }

  // ---- node -> client

  /** Records what a frame forwarded to the client answered. */
  void onServerFacts(FrameScan.ServerFacts facts) {
    for (long seq : facts.errorSeqs()) {
      failed(seq);
    }
    if (facts.answeredSeq() >= 0) {
      answered(facts.answeredSeq());
    }
    if (facts.readSeq() >= 0 && !facts.readDone()) {
      if (facts.readSeq() != readSeq) {
        readSeq = facts.readSeq();
        readDelivered = 0;
      }
      readDelivered += facts.readBytes();
    }
  }

  /** The client got an error for op {@code seq}. An error on a synchronizing op completes it. */
  void failed(long seq) {
    if (!tail.isEmpty() && seq >= tail.peekFirst().op().getSeq()) {
      failed.add(seq);
    }
    if (!pendingSync.isEmpty() && pendingSync.peekFirst() == seq) {
      answered(seq);
    }
  }

  /** The client got the answer of synchronizing op {@code seq}: every op up to it is done. */
  void answered(long seq) {
    while (!pendingSync.isEmpty() && pendingSync.peekFirst() <= seq) {
      pendingSync.pollFirst();
    }
    while (!tail.isEmpty() && tail.peekFirst().op().getSeq() <= seq) {
      fold(tail.pollFirst());
    }
    failed.removeIf(s -> s <= seq);
    if (readSeq <= seq) {
      readSeq = -1;
      readDelivered = 0;
    }
  }

  /** Bytes of read {@code seq} the client has now, after a rebuilt session resent part of it. */
  void readDelivered(long seq, long bytes) {
    readSeq = seq;
    readDelivered = bytes;
  }

  /** Moves a completed op from the tail into the base. */
  private void fold(Entry e) {
    tailBytes -= e.bytes();
    budget.give(e.bytes());
    if (e.stripped()) {
      strippedInTail--;
    }
    Op op = e.op();
    if (broken != null || failed.contains(op.getSeq())) {
      return;
    }
    switch (op.getKindCase()) {
      case ALLOC -> buffers.put(op.getAlloc().getHandle(), new BaseBuffer(op));
      case FREE -> {
        BaseBuffer b = buffers.remove(op.getFree().getHandle());
        if (b != null) {
          charge(-b.contentBytes);
        }
        Op m = modules.remove(op.getFree().getHandle());
        if (m != null) {
          charge(-(m.getLoadModule().getImage().size() + OP_OVERHEAD));
        }
      }
      case LOAD_MODULE -> {
        Op copy = op.toBuilder().setLoadModule(op.getLoadModule().toBuilder()
            .setImage(ByteString.copyFrom(op.getLoadModule().getImage().asReadOnlyByteBuffer()))).build();
        modules.put(op.getLoadModule().getModule(), copy);
        charge(copy.getLoadModule().getImage().size() + OP_OVERHEAD);
      }
      case WRITE -> {
        BaseBuffer b = buffers.get(op.getWrite().getHandle());
        if (b != null && b.persistent) {
          if (op.getWrite().getOffset() == 0 && op.getWrite().getData().size() >= b.size) {
            clearContents(b);
          }
          Op copy = op.toBuilder().setWrite(op.getWrite().toBuilder()
              .setData(ByteString.copyFrom(op.getWrite().getData().asReadOnlyByteBuffer()))).build();
          addContent(b, copy, copy.getWrite().getData().size() + OP_OVERHEAD);
        } else if (b != null) {
          b.dirty = true;
        }
      }
      case FILL -> {
        BaseBuffer b = buffers.get(op.getFill().getHandle());
        if (b != null && b.persistent) {
          if (op.getFill().getOffset() == 0 && op.getFill().getBytes() >= b.size) {
            clearContents(b);
          }
          addContent(b, op, OP_OVERHEAD);
        } else if (b != null) {
          b.dirty = true;
        }
      }
      case LAUNCH -> {
        for (KernelArg arg : op.getLaunch().getArgsList()) {
          BaseBuffer b = arg.hasPtr() ? buffers.get(arg.getPtr().getHandle()) : null;
          if (b != null && !b.persistent && arg.getPtr().getAccess() != Access.ACCESS_READ) {
            b.dirty = true;
          }
        }
      }
      default -> { }
    }
  }

  private void clearContents(BaseBuffer b) {
    charge(-b.contentBytes);
    b.contents.clear();
    b.contentBytes = 0;
  }

  /**
   * Appends a write or fill of a persistent buffer. One that covers exactly the range of an earlier one
   * replaces it (re-uploading weights chunk by chunk keeps the journal the size of the weights); the
   * new op goes last, so overlapping ranges still replay in their original order.
   */
  private void addContent(BaseBuffer b, Op op, long bytes) {
    long offset = op.hasWrite() ? op.getWrite().getOffset() : op.getFill().getOffset();
    long length = op.hasWrite() ? op.getWrite().getData().size() : op.getFill().getBytes();
    for (java.util.Iterator<Op> it = b.contents.iterator(); it.hasNext(); ) {
      Op old = it.next();
      long o = old.hasWrite() ? old.getWrite().getOffset() : old.getFill().getOffset();
      long n = old.hasWrite() ? old.getWrite().getData().size() : old.getFill().getBytes();
      if (o == offset && n == length) {
        long freed = old.hasWrite() ? n + OP_OVERHEAD : OP_OVERHEAD;
        it.remove();
        b.contentBytes -= freed;
        charge(-freed);
        break;
      }
    }
    b.contents.add(op);
    b.contentBytes += bytes;
    charge(bytes);
  }

  /**
   * Base bytes (negative: released). They arrive with an op leaving the tail, which was charged the same
   * bytes or more when it arrived, so they are taken without a bound check.
   */
  private void charge(long bytes) {
    baseBytes += bytes;
    budget.give(-bytes);
  }

  // ---- rebuilding

  /** Null if the session can be rebuilt now, else why not (for the client). */
  String whyNotReplayable() {
    if (broken != null) {
      return broken;
    }
    if (strippedInTail > 0) {
      return "the operations since its last completed synchronizing call passed the journal bound";
    }
    Map<Long, Boolean> persistent = new HashMap<>();
    Set<Long> defined = new HashSet<>();
    buffers.forEach((h, b) -> {
      persistent.put(h, b.persistent);
      if (b.persistent || !b.dirty) {
        defined.add(h);
      }
    });
    for (Entry e : tail) {
      Op op = e.op();
      if (failed.contains(op.getSeq())) {
        continue;
      }
      switch (op.getKindCase()) {
        case ALLOC -> {
          persistent.put(op.getAlloc().getHandle(), op.getAlloc().getPersistent());
          defined.add(op.getAlloc().getHandle());
        }
        case FREE -> {
          persistent.remove(op.getFree().getHandle());
          defined.remove(op.getFree().getHandle());
        }
        case WRITE -> defined.add(op.getWrite().getHandle());
        case FILL -> defined.add(op.getFill().getHandle());
        case LAUNCH -> {
          for (KernelArg arg : op.getLaunch().getArgsList()) {
            if (!arg.hasPtr()) {
              continue;
            }
            long h = arg.getPtr().getHandle();
            if (arg.getPtr().getAccess() != Access.ACCESS_WRITE
                && Boolean.FALSE.equals(persistent.get(h)) && !defined.contains(h)) {
              return "kernel " + op.getLaunch().getFunction() + " (seq " + op.getSeq() + ") reads scratch"
                  + " buffer " + h + " (passed as " + access(arg.getPtr().getAccess()) + "), last written"
                  + " before the last completed synchronizing call; scratch contents are not journaled"
                  + " (allocate it persistent, or pass it as KernelArg.out if the kernel only writes it)";
            }
          }
          for (KernelArg arg : op.getLaunch().getArgsList()) {
            if (arg.hasPtr() && arg.getPtr().getAccess() != Access.ACCESS_READ) {
              defined.add(arg.getPtr().getHandle());
            }
          }
        }
        case READ -> {
          long h = op.getRead().getHandle();
          if (Boolean.FALSE.equals(persistent.get(h)) && !defined.contains(h)) {
            return "read (seq " + op.getSeq() + ") of scratch buffer " + h + ", last written before the"
                + " last completed synchronizing call; scratch contents are not journaled";
          }
        }
        default -> { }
      }
    }
    return null;
  }

  /** The base as ops in their original order: modules, allocations, persistent contents. */
  List<Op> rebuildOps() {
    List<Op> ops = new ArrayList<>(modules.values());
    for (BaseBuffer b : buffers.values()) {
      ops.add(b.alloc);
      ops.addAll(b.contents);
    }
    ops.sort(Comparator.comparingLong(Op::getSeq));
    return ops;
  }

  /** The ops since the last completed synchronizing call, less those that failed. */
  List<Op> tailOps() {
    List<Op> ops = new ArrayList<>(tail.size());
    for (Entry e : tail) {
      if (!failed.contains(e.op().getSeq())) {
        ops.add(e.op());
      }
    }
    return ops;
  }

  /** Sequence numbers of tail ops whose errors the client already has. */
  Set<Long> failedInTail() {
    return Set.copyOf(failed);
  }

  /** The read whose answer was partly delivered, or -1, and how many of its bytes the client has. */
  long partialReadSeq() {
    return readSeq;
  }

  long partialReadBytes() {
    return readDelivered;
  }

  /** No op in flight: every op sent has been answered by a synchronizing call. */
  boolean idle() {
    return tail.isEmpty() && pendingSync.isEmpty();
  }

  long bytes() {
    return baseBytes + tailBytes;
  }

  boolean replayable() {
    return broken == null && strippedInTail == 0;
  }

  /** Gives every byte back to the gateway's budget; the journal is not used afterwards. */
  void close() {
    budget.give(baseBytes + tailBytes);
    baseBytes = 0;
    tailBytes = 0;
    modules.clear();
    buffers.clear();
    tail.clear();
  }

  private static String access(Access a) {
    return switch (a) {
      case ACCESS_READ -> "in";
      case ACCESS_WRITE -> "out";
      case ACCESS_READ_WRITE -> "inOut";
      default -> "ptr (access not said: read and write)";
    };
  }

  private static String describe(Op op) {
    return op.getKindCase().name().toLowerCase(Locale.ROOT) + " (seq " + op.getSeq() + ", "
        + op.getSerializedSize() + " bytes)";
  }
}
