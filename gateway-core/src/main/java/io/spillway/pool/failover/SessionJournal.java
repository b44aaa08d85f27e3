package io.spillway.pool.failover;

import com.google.protobuf.ByteString;
import io.spillway.pool.forward.FrameScan;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.PointerSlot;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What an edge gateway keeps of one session to rebuild it on another slice: the state as of the last
 * completed synchronizing call (the <em>base</em>), and every op sent since (the <em>tail</em>).
 *
 * <p>Rebuilding a session is: open it on the new slice, send the base's ops (each with its original
 * sequence number, in order), then the tail.
 *
 * <p><b>The base</b> holds the ops that the session's live state depends on. Every live buffer, module,
 * variable binding and event has an origin op (its alloc, load_module, get_global, event_record), and
 * every buffer (and the variables of each module) has its <em>contents</em>: the ops that produced them
 * since the host last overwrote it whole. Host writes, fills and memsets are contents, and a later one
 * that covers the same range of the same buffer replaces an earlier one. Copies and raw launches are
 * contents too, and they keep, in turn, the contents they read (and the origins they name), so that a
 * rebuilt session runs every op that led to a live buffer's bytes, in order. An op is dropped once no
 * live state depends on it; one that named a buffer or module freed since stays, with its free replayed
 * after it. A raw launch that reads and writes a buffer (the shim's {@code INOUT}) becomes that buffer's
 * only content, as it depends on all the earlier ones: a chain of such launches keeps one op per launch,
 * within the bounds below.
 *
 * <p><b>Typed launches</b> keep the SDK's contract instead: an op after a synchronizing call depends only
 * on scratch data written after that call. A scratch buffer a typed launch wrote is <em>dirty</em>: its
 * contents are not journaled, and a tail that reads it before writing it again cannot be replayed. No
 * typed launch may write a persistent buffer (its journaled contents would be stale): that ends replay.
 *
 * <p><b>Unknown contents.</b> A copy or raw launch that reads dirty or unknown contents, or one whose op
 * the journal could not keep (the bounds), leaves what it writes <em>unknown</em>; so does a host write
 * whose data could not be kept once the session has used copies or raw launches. A session cannot be
 * rebuilt while any live buffer is unknown or while its tail reads one: a rebuilt session would hold other
 * bytes. A full host overwrite makes a buffer known again.
 *
 * <p><b>Kernels and module variables.</b> A kernel of a module that declares {@code .global} or
 * {@code .const} variables (read from its PTX; any non-text image is assumed to) reads them, and if it
 * declares {@code .global} ones it may write them: each launch of such a module is then part of the
 * module's variables' contents.
 *
 * <p>Bounds: the journal holds at most {@code maxBytes} for the session and draws every byte from the
 * gateway's {@link Budget}. When a persistent write, a write of a module variable or a module does not
 * fit, the session can never be rebuilt again and the journal is dropped; when other data in the tail
 * does not fit, its payload is dropped, the session cannot be rebuilt until the next synchronizing call
 * completes, and what the op wrote is unknown (or dirty, for sessions that used no copy or raw launch)
 * afterwards. Either way {@link #onClientOps} returns a notice for the client, and
 * {@link #whyNotReplayable} says why.
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

  /** Bytes charged per op besides its payload (the op's own fields). */
  private static final long OP_OVERHEAD = 64;

  /**
   * An op kept in the base. Reference-counted: held by the live state that depends on it (a buffer's
   * contents, a handle, a module, an event) and by the kept ops that read what it produced.
   */
  private static final class Kept {
    final Op op;
    long bytes;
    int refs;
    /** Contents this op read: they must be replayed before it. */
    final List<Contents> reads = new ArrayList<>(0);
    /** Origins of the handles and modules it names: they must exist when it is replayed. */
    final List<Kept> needs = new ArrayList<>(0);
    /** The free that ended what this op created, replayed after it while it is kept. */
    Op end;
    /** For a host write, fill or memset: the range it set, so a later one can replace it. */
    final String rangeKey;
    final long rangeOffset;
    final long rangeLength;

    Kept(Op op, long bytes) {
      this(op, bytes, null, 0, -1);
    }

    Kept(Op op, long bytes, String rangeKey, long rangeOffset, long rangeLength) {
      this.op = op;
      this.bytes = bytes;
      this.rangeKey = rangeKey;
      this.rangeOffset = rangeOffset;
      this.rangeLength = rangeLength;
    }
  }

  /** The ops that produced an object's contents, in order. Shared by readers: copied before a change. */
  private static final class Contents {
    final List<Kept> producers;
    int refs;

    Contents(List<Kept> producers) {
      this.producers = producers;
    }
  }

  /** What the journal knows of an object's contents. */
  private enum State {
    /** Its contents ops reproduce it. */
    KNOWN,
    /** A typed launch wrote it: not journaled, and by the SDK's contract not read before written again. */
    DIRTY,
    /** Written from something not journaled: it cannot be rebuilt. */
    UNKNOWN
  }

  /** A buffer, or the variables of one module. */
  private final class Obj {
    final String name;
    final boolean persistent;
    /** Its size, or -1 (module variables: never overwritten whole). */
    final long size;
    Contents contents = hold(new Contents(new ArrayList<>()));
    State state = State.KNOWN;
    String why;
    /** Handles and modules that name it. */
    int holders = 1;

    Obj(String name, boolean persistent, long size) {
      this.name = name;
      this.persistent = persistent;
      this.size = size;
    }
  }

  /** A live handle: what it names, the op that created it, and for a module variable its name. */
  private record Handle(Obj obj, Kept origin, String variable) {}

  /** A live module: its load, its variables, and whether its kernels read or write them. */
  private record Mod(Kept load, Obj variables, boolean hasVariables, boolean writableVariables) {}

  private final long maxBytes;
  private final Budget budget;
  /** Persistence of each handle as of the last op received (the tail included). */
  private final Map<Long, Boolean> persistentNow = new HashMap<>();
  /** Handles bound to module variables as of the last op received. */
  private final Set<Long> variablesNow = new HashSet<>();
  private final Map<Long, Handle> handles = new HashMap<>();
  private final Map<Long, Mod> modules = new HashMap<>();
  private final Map<Long, Kept> events = new HashMap<>();
  /** Every op of the base (identity: one entry per kept op). */
  private final Set<Kept> kept = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
  private final ArrayDeque<Entry> tail = new ArrayDeque<>();
  private final ArrayDeque<Long> pendingSync = new ArrayDeque<>();
  /** Ops of the tail that failed (their errors reached the client). */
  private final Set<Long> failed = new HashSet<>();
  private long baseBytes;
  private long tailBytes;
  private int strippedInTail;
  /** The session has used copies, memsets, raw launches or module variables (protocol version 2). */
  private boolean rawOps;
  /** The read being answered when the last frame went to the client, and its bytes delivered so far. */
  private long readSeq = -1;
  private long readDelivered;
  private String broken;
  private boolean overflowTold;
  /** While an op folds: what its tail entry was charged and the base has not used yet. */
  private long credit;

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
    int added = 0;
    boolean partial = false;
    for (Op op : ops) {
      switch (op.getKindCase()) {
        case ALLOC -> persistentNow.put(op.getAlloc().getHandle(), op.getAlloc().getPersistent());
        case FREE -> {
          persistentNow.remove(op.getFree().getHandle());
          variablesNow.remove(op.getFree().getHandle());
        }
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
        case GET_GLOBAL -> {
          rawOps = true;
          variablesNow.add(op.getGetGlobal().getHandle());
          pendingSync.add(op.getSeq());
        }
        case COPY, MEMSET, LAUNCH_RAW -> rawOps = true;
        case UNREPLAYABLE -> {
          String told = markUnreplayable("the client said so (seq " + op.getSeq() + "): "
              + op.getUnreplayable().getReason());
          notice = told != null ? told : notice;
        }
        case READ, SYNCHRONIZE, CLOSE, EVENT_ELAPSED -> pendingSync.add(op.getSeq());
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
        added++;
        continue;
      }
      partial = true;
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
      if (broken == null) {
        added++;
      }
    }
    if (partial && broken == null && added > 0) {
      unalias(added);
    }
    return notice;
  }

  /**
   * The ops of a frame alias one copy of its bytes. When some of them were not kept whole, the copy must
   * not live on through the others (it would hold bytes the bounds never charged): the last {@code n}
   * tail entries, this frame's, are copied out of it.
   */
  private void unalias(int n) {
    ArrayDeque<Entry> mine = new ArrayDeque<>(n);
    for (int i = 0; i < n && !tail.isEmpty(); i++) {
      mine.push(tail.pollLast());
    }
    for (Entry e : mine) {
      tail.add(e.stripped() ? e : new Entry(copyOf(e.op()), e.bytes(), false));
    }
  }

  private static Op copyOf(Op op) {
    try {
      return Op.parseFrom(op.toByteArray());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalStateException("an op the gateway parsed does not parse again", e);
    }
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
    // Even without their data, ops that are never synchronized would grow the tail without end.
    if (baseBytes + tailBytes + small > maxBytes) {
      return breakJournal("ops sent since the last synchronizing call, even without their data, pass the"
          + " session's journal bound of " + maxBytes + " bytes (" + why + ")");
    }
    if (!budget.tryTake(small)) {
      return breakJournal("ops sent since the last synchronizing call, even without their data, pass the"
          + " gateway's journal bound (all sessions together) (" + why + ")");
    }
    tail.add(new Entry(stripped, small, true));
    tailBytes += small;
    if (strippedInTail++ == 0 && !overflowTold) {
      overflowTold = true;
      return "session cannot be rebuilt on another GPU until its next synchronizing call completes"
          + (rawOps ? ", nor while a buffer it wrote lives without being overwritten whole" : "") + ": "
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

  /** Whether the op's payload must move into the base when its synchronizing call completes. */
  private boolean needsBase(Op op) {
    return switch (op.getKindCase()) {
      case LOAD_MODULE -> true;
      case WRITE -> Boolean.TRUE.equals(persistentNow.get(op.getWrite().getHandle()))
          || variablesNow.contains(op.getWrite().getHandle());
      default -> false;
    };
  }

  /** The op without its data, and not aliasing the frame it came in. */
  private static Op strip(Op op) {
    if (op.hasWrite()) {
      return op.toBuilder().setWrite(op.getWrite().toBuilder().setData(ByteString.EMPTY)).build();
    }
    return copyOf(op);
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
    dropBase();
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
    // A node answers in order: synchronizing ops before seq have been answered (or refused with their frame).
    while (!pendingSync.isEmpty() && pendingSync.peekFirst() < seq) {
      pendingSync.pollFirst();
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

  // ---- the base

  /** Moves a completed op from the tail into the base. */
  private void fold(Entry e) {
    tailBytes -= e.bytes();
    // The tail entry's bytes pay for what the base keeps of it; the rest goes back after.
    credit = e.bytes();
    try {
      foldCharged(e);
    } finally {
      budget.give(credit);
      credit = 0;
    }
  }

  private void foldCharged(Entry e) {
    if (e.stripped()) {
      strippedInTail--;
    }
    Op op = e.op();
    if (broken != null || failed.contains(op.getSeq())) {
      return;
    }
    switch (op.getKindCase()) {
      case ALLOC -> {
        long h = op.getAlloc().getHandle();
        Kept origin = keep(new Kept(op, 0));
        Obj obj = new Obj("buffer " + h, op.getAlloc().getPersistent(), op.getAlloc().getBytes());
        handles.put(h, new Handle(obj, hold(origin), null));
      }
      case FREE -> free(op);
      case LOAD_MODULE -> {
        Op copy = op.toBuilder().setLoadModule(op.getLoadModule().toBuilder()
            .setImage(ByteString.copyFrom(op.getLoadModule().getImage().asReadOnlyByteBuffer()))).build();
        Kept load = hold(keep(new Kept(copy, copy.getLoadModule().getImage().size() + OP_OVERHEAD)));
        ModuleVariables v = ModuleVariables.of(copy.getLoadModule().getImage());
        long m = op.getLoadModule().getModule();
        modules.put(m, new Mod(load, new Obj("the variables of module " + m, true, -1), v.any(), v.writable()));
      }
      case GET_GLOBAL -> {
        Mod mod = modules.get(op.getGetGlobal().getModule());
        if (mod != null) {
          Kept bind = keep(new Kept(op, OP_OVERHEAD));
          bind.needs.add(hold(mod.load()));
          mod.variables().holders++;
          handles.put(op.getGetGlobal().getHandle(), new Handle(mod.variables(), hold(bind),
              op.getGetGlobal().getName()));
        }
      }
      case WRITE -> {
        var w = op.getWrite();
        Handle h = handles.get(w.getHandle());
        if (h == null) {
          break;
        }
        if (e.stripped()) {
          lose(h.obj(), rawOps ? State.UNKNOWN : State.DIRTY, "write (seq " + op.getSeq() + ") passed the journal"
              + " bound, so its data was not kept");
          break;
        }
        Op copy = op.toBuilder().setWrite(w.toBuilder()
            .setData(ByteString.copyFrom(w.getData().asReadOnlyByteBuffer()))).build();
        hostWrite(h, copy, copy.getWrite().getData().size() + OP_OVERHEAD, w.getOffset(), w.getData().size());
      }
      case FILL -> {
        Handle h = handles.get(op.getFill().getHandle());
        if (h != null) {
          hostWrite(h, op, OP_OVERHEAD, op.getFill().getOffset(), op.getFill().getBytes());
        }
      }
      case MEMSET -> {
        var m = op.getMemset();
        Handle h = handles.get(m.getHandle());
        if (h != null) {
          hostWrite(h, op, OP_OVERHEAD, m.getOffset(), m.getCount() * m.getWidth());
        }
      }
      case COPY -> copy(op, e.stripped());
      case LAUNCH -> {
        Mod mod = modules.get(op.getLaunch().getModule());
        String by = "kernel " + op.getLaunch().getFunction() + " (seq " + op.getSeq() + "), a typed launch";
        for (KernelArg arg : op.getLaunch().getArgsList()) {
          Handle h = arg.hasPtr() ? handles.get(arg.getPtr().getHandle()) : null;
          if (h != null && arg.getPtr().getAccess() != Access.ACCESS_READ) {
            lose(h.obj(), State.DIRTY, "it was written by " + by);
          }
        }
        if (mod != null && mod.writableVariables()) {
          lose(mod.variables(), State.DIRTY, "they may have been written by " + by);
        }
      }
      case LAUNCH_RAW -> launchRaw(op, e.stripped());
      case EVENT_RECORD -> {
        // Replayed with its time marked as lost: times on two GPUs do not compare.
        Op replayed = op.toBuilder().setEventRecord(op.getEventRecord().toBuilder().setReplayed(true)).build();
        release(events.put(op.getEventRecord().getEvent(), hold(keep(new Kept(replayed, OP_OVERHEAD)))));
      }
      case EVENT_FREE -> release(events.remove(op.getEventFree().getEvent()));
      default -> { }
    }
  }

  private void free(Op op) {
    long handle = op.getFree().getHandle();
    Mod mod = modules.remove(handle);
    if (mod != null) {
      unhold(mod.variables());
      end(mod.load(), op);
      release(mod.load());
      return;
    }
    Handle h = handles.remove(handle);
    if (h != null) {
      unhold(h.obj());
      end(h.origin(), op);
      release(h.origin());
    }
  }

  /** A write, fill or memset from the host: {@code length} bytes at {@code offset}. */
  private void hostWrite(Handle h, Op op, long bytes, long offset, long length) {
    Obj obj = h.obj();
    String key = h.variable() == null ? "" : h.variable();
    Kept k = keep(new Kept(op, bytes, key, offset, length));
    k.needs.add(hold(h.origin()));
    boolean whole = obj.size >= 0 && offset == 0 && length >= obj.size;
    if (whole) {
      obj.state = State.KNOWN;
      obj.why = null;
      replace(obj, k);
    } else if (obj.state == State.KNOWN) {
      append(obj, k, true);
    } else {
      // Part of a buffer whose other bytes are lost: keeping this would not make it rebuildable.
      hold(k);
      release(k);
    }
  }

  private void copy(Op op, boolean stripped) {
    var c = op.getCopy();
    Handle dst = handles.get(c.getDst());
    Handle src = handles.get(c.getSrc());
    if (dst == null || src == null) {
      return;
    }
    String what = "copy (seq " + op.getSeq() + ")";
    if (stripped || src.obj().state != State.KNOWN) {
      lose(dst.obj(), State.UNKNOWN, stripped ? what + " passed the journal bound" : what + " copied it from "
          + src.obj().name + ", whose contents are not journaled (" + src.obj().why + ")");
      return;
    }
    Kept k = keep(new Kept(op, OP_OVERHEAD, dst.variable() == null ? "" : dst.variable(), c.getDstOffset(),
        c.getBytes()));
    k.needs.add(hold(dst.origin()));
    k.needs.add(hold(src.origin()));
    k.reads.add(hold(src.obj().contents));
    Obj obj = dst.obj();
    if (obj.size >= 0 && c.getDstOffset() == 0 && c.getBytes() >= obj.size) {
      obj.state = State.KNOWN;
      obj.why = null;
      replace(obj, k);
    } else if (obj.state == State.KNOWN) {
      append(obj, k, true);
    } else {
      hold(k);
      release(k);
    }
  }

  private void launchRaw(Op op, boolean stripped) {
    var l = op.getLaunchRaw();
    String what = "launch_raw of " + l.getFunction() + " (seq " + op.getSeq() + ")";
    Mod mod = modules.get(l.getModule());
    Set<Obj> reads = new LinkedHashSet<>();
    Set<Obj> writes = new LinkedHashSet<>();
    List<Kept> needs = new ArrayList<>();
    String lost = stripped ? what + " passed the journal bound" : mod == null ? what + " named a module the"
        + " journal does not hold" : null;
    for (PointerSlot p : l.getPointersList()) {
      Handle h = handles.get(p.getHandle());
      if (h == null) {
        continue;
      }
      needs.add(h.origin());
      if (p.getAccess() != Access.ACCESS_WRITE) {
        reads.add(h.obj());
      }
      if (p.getAccess() != Access.ACCESS_READ) {
        writes.add(h.obj());
      }
    }
    if (mod != null) {
      needs.add(mod.load());
      if (mod.hasVariables()) {
        reads.add(mod.variables());
      }
      if (mod.writableVariables()) {
        writes.add(mod.variables());
      }
    }
    for (Obj r : reads) {
      if (lost == null && r.state != State.KNOWN) {
        lost = what + " read " + r.name + ", whose contents are not journaled (" + r.why + ")";
      }
    }
    if (lost != null) {
      for (Obj w : writes) {
        lose(w, State.UNKNOWN, lost);
      }
      return;
    }
    Kept k = keep(new Kept(op, op.getSerializedSize() + OP_OVERHEAD));
    for (Kept n : needs) {
      k.needs.add(hold(n));
    }
    for (Obj r : reads) {
      k.reads.add(hold(r.contents));
    }
    for (Obj w : writes) {
      if (reads.contains(w)) {
        // It read all of w's contents: replaying it replays them first, so it alone stands for them.
        replace(w, k);
      } else if (w.state == State.KNOWN) {
        append(w, k, false);
      }
    }
    // Held by nothing when everything it wrote was already lost.
    hold(k);
    release(k);
  }

  /** The object's contents are no longer journaled. */
  private void lose(Obj obj, State state, String why) {
    if (obj.state == State.UNKNOWN && state == State.DIRTY) {
      return; // Unknown stays unknown until overwritten whole.
    }
    obj.state = state;
    obj.why = why;
    Contents old = obj.contents;
    obj.contents = hold(new Contents(new ArrayList<>()));
    release(old);
  }

  /** The object's contents are now {@code k} alone. */
  private void replace(Obj obj, Kept k) {
    List<Kept> only = new ArrayList<>(1);
    only.add(hold(k));
    Contents old = obj.contents;
    obj.contents = hold(new Contents(only));
    release(old);
  }

  /**
   * Appends {@code k} to the object's contents; a host range ({@code replaces}) drops the earlier host
   * ranges of the same key that it covers (their effect is overwritten; ops that read them keep them).
   */
  private void append(Obj obj, Kept k, boolean replaces) {
    Contents c = obj.contents;
    if (c.refs > 1) {
      Contents copy = new Contents(new ArrayList<>(c.producers));
      for (Kept p : copy.producers) {
        hold(p);
      }
      obj.contents = hold(copy);
      release(c);
      c = copy;
    }
    if (replaces) {
      for (java.util.Iterator<Kept> it = c.producers.iterator(); it.hasNext(); ) {
        Kept p = it.next();
        if (p.rangeLength >= 0 && Objects.equals(p.rangeKey, k.rangeKey) && p.rangeOffset >= k.rangeOffset
            && p.rangeOffset + p.rangeLength <= k.rangeOffset + k.rangeLength) {
          it.remove();
          release(p);
        }
      }
    }
    c.producers.add(hold(k));
  }

  /** Records the free that ends what {@code origin} created, in case a kept op still needs it. */
  private void end(Kept origin, Op free) {
    if (origin.refs > 1) {
      origin.end = free;
      origin.bytes += OP_OVERHEAD;
      charge(OP_OVERHEAD);
    }
  }

  private void unhold(Obj obj) {
    if (--obj.holders == 0) {
      release(obj.contents);
    }
  }

  /** A new base op, charged to the base (from the folding op's credit, see {@link #charge}). */
  private Kept keep(Kept k) {
    kept.add(k);
    charge(k.bytes);
    return k;
  }

  private Kept hold(Kept k) {
    k.refs++;
    return k;
  }

  private Contents hold(Contents c) {
    c.refs++;
    return c;
  }

  /** Drops a reference; what nothing holds any more leaves the base (iteratively: chains are long). */
  private void release(Object first) {
    if (first == null) {
      return;
    }
    ArrayDeque<Object> work = new ArrayDeque<>();
    work.push(first);
    while (!work.isEmpty()) {
      Object o = work.pop();
      if (o instanceof Contents c) {
        if (--c.refs == 0) {
          c.producers.forEach(work::push);
        }
      } else {
        Kept k = (Kept) o;
        if (--k.refs == 0) {
          kept.remove(k);
          charge(-k.bytes);
          k.reads.forEach(work::push);
          k.needs.forEach(work::push);
        }
      }
    }
  }

  /**
   * Charges the base. New base bytes come only while an op folds, and never more than its tail entry was
   * charged (a write keeps its data, a copy or free 64 bytes), so they are paid from {@link #credit}: the
   * base never takes from the gateway's budget what the tail did not hold.
   */
  private void charge(long bytes) {
    baseBytes += bytes;
    if (bytes <= 0) {
      budget.give(-bytes);
      return;
    }
    long fromCredit = Math.min(credit, bytes);
    credit -= fromCredit;
    if (bytes > fromCredit) {
      budget.give(-(bytes - fromCredit)); // not reached: see above
    }
  }

  private void dropBase() {
    kept.clear();
    handles.clear();
    modules.clear();
    events.clear();
  }

  // ---- rebuilding

  /** What the tail check knows of an object. */
  private static final class Sim {
    final String name;
    final boolean persistent;
    final long size;
    State state;
    String why;

    Sim(String name, boolean persistent, long size, State state, String why) {
      this.name = name;
      this.persistent = persistent;
      this.size = size;
      this.state = state;
      this.why = why;
    }
  }

  private record SimMod(Sim variables, boolean hasVariables, boolean writableVariables) {}

  /** Null if the session can be rebuilt now, else why not (for the client). */
  String whyNotReplayable() {
    if (broken != null) {
      return broken;
    }
    if (strippedInTail > 0) {
      return "the operations since its last completed synchronizing call passed the journal bound";
    }
    Map<Obj, Sim> sims = new IdentityHashMap<>();
    Map<Long, Sim> live = new HashMap<>();
    Map<Long, SimMod> mods = new HashMap<>();
    handles.forEach((h, hd) -> live.put(h, sims.computeIfAbsent(hd.obj(),
        o -> new Sim(o.name, o.persistent, o.size, o.state, o.why))));
    modules.forEach((m, mod) -> mods.put(m, new SimMod(sims.computeIfAbsent(mod.variables(),
        o -> new Sim(o.name, true, -1, o.state, o.why)), mod.hasVariables(), mod.writableVariables())));
    for (Entry e : tail) {
      Op op = e.op();
      if (failed.contains(op.getSeq())) {
        continue;
      }
      switch (op.getKindCase()) {
        case ALLOC -> live.put(op.getAlloc().getHandle(), new Sim("buffer " + op.getAlloc().getHandle(),
            op.getAlloc().getPersistent(), op.getAlloc().getBytes(), State.KNOWN, null));
        case FREE -> {
          live.remove(op.getFree().getHandle());
          mods.remove(op.getFree().getHandle());
        }
        case LOAD_MODULE -> {
          ModuleVariables v = ModuleVariables.of(op.getLoadModule().getImage());
          mods.put(op.getLoadModule().getModule(), new SimMod(new Sim("the variables of module "
              + op.getLoadModule().getModule(), true, -1, State.KNOWN, null), v.any(), v.writable()));
        }
        case GET_GLOBAL -> {
          SimMod mod = mods.get(op.getGetGlobal().getModule());
          if (mod != null) {
            live.put(op.getGetGlobal().getHandle(), mod.variables());
          }
        }
        case WRITE -> overwrite(live.get(op.getWrite().getHandle()), op.getWrite().getOffset(),
            op.getWrite().getData().size());
        case FILL -> overwrite(live.get(op.getFill().getHandle()), op.getFill().getOffset(),
            op.getFill().getBytes());
        case MEMSET -> overwrite(live.get(op.getMemset().getHandle()), op.getMemset().getOffset(),
            op.getMemset().getCount() * op.getMemset().getWidth());
        case COPY -> {
          Sim src = live.get(op.getCopy().getSrc());
          Sim dst = live.get(op.getCopy().getDst());
          if (src != null && dst != null && src.state != State.KNOWN) {
            dst.state = State.UNKNOWN;
            dst.why = "copy (seq " + op.getSeq() + ") copied it from " + src.name + ", whose contents are not"
                + " journaled (" + src.why + ")";
          } else if (dst != null) {
            overwrite(dst, op.getCopy().getDstOffset(), op.getCopy().getBytes());
          }
        }
        case LAUNCH -> {
          SimMod mod = mods.get(op.getLaunch().getModule());
          for (KernelArg arg : op.getLaunch().getArgsList()) {
            if (!arg.hasPtr()) {
              continue;
            }
            long h = arg.getPtr().getHandle();
            Sim s = live.get(h);
            if (s != null && arg.getPtr().getAccess() != Access.ACCESS_WRITE && s.state != State.KNOWN) {
              return "kernel " + op.getLaunch().getFunction() + " (seq " + op.getSeq() + ") reads "
                  + (s.persistent ? "" : "scratch ") + s.name + " (passed as " + access(arg.getPtr().getAccess())
                  + "), last written before the last completed synchronizing call"
                  + (s.state == State.DIRTY ? "; scratch contents are not journaled (allocate it persistent, or"
                      + " pass it as KernelArg.out if the kernel only writes it)" : ": " + s.why);
            }
          }
          if (mod != null && mod.hasVariables() && mod.variables().state != State.KNOWN) {
            return "kernel " + op.getLaunch().getFunction() + " (seq " + op.getSeq() + ") reads "
                + mod.variables().name + ": " + mod.variables().why;
          }
          for (KernelArg arg : op.getLaunch().getArgsList()) {
            Sim s = arg.hasPtr() ? live.get(arg.getPtr().getHandle()) : null;
            // Replayed, so what it writes is known again; an output alone may leave other bytes unknown.
            if (s != null && arg.getPtr().getAccess() != Access.ACCESS_READ
                && !(arg.getPtr().getAccess() == Access.ACCESS_WRITE && s.state == State.UNKNOWN)) {
              s.state = State.KNOWN;
            }
          }
        }
        case LAUNCH_RAW -> {
          var l = op.getLaunchRaw();
          SimMod mod = mods.get(l.getModule());
          List<Sim> reads = new ArrayList<>();
          List<Sim> writes = new ArrayList<>();
          for (PointerSlot p : l.getPointersList()) {
            Sim s = live.get(p.getHandle());
            if (s != null && p.getAccess() != Access.ACCESS_WRITE) {
              reads.add(s);
            }
            if (s != null && p.getAccess() != Access.ACCESS_READ) {
              writes.add(s);
            }
          }
          if (mod != null && mod.hasVariables()) {
            reads.add(mod.variables());
          }
          if (mod != null && mod.writableVariables()) {
            writes.add(mod.variables());
          }
          Sim lost = reads.stream().filter(s -> s.state != State.KNOWN).findFirst().orElse(null);
          for (Sim w : writes) {
            if (lost != null) {
              w.state = State.UNKNOWN;
              w.why = "launch_raw of " + l.getFunction() + " (seq " + op.getSeq() + ") read " + lost.name
                  + ", whose contents are not journaled (" + lost.why + ")";
            }
          }
        }
        case READ -> {
          Sim s = live.get(op.getRead().getHandle());
          if (s != null && s.state != State.KNOWN) {
            return "read (seq " + op.getSeq() + ") of " + (s.persistent ? "" : "scratch ") + s.name
                + ", last written before the last completed synchronizing call"
                + (s.state == State.DIRTY ? "; scratch contents are not journaled" : ": " + s.why);
          }
        }
        default -> { }
      }
    }
    Set<Sim> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    List<Sim> all = new ArrayList<>(live.values());
    mods.values().forEach(m -> all.add(m.variables()));
    for (Sim s : all) {
      if (seen.add(s) && s.state == State.UNKNOWN) {
        return "the contents of " + s.name + " are not journaled: " + s.why + "; a rebuilt session would hold"
            + " other bytes (the host must overwrite it whole, or free it, first)";
      }
    }
    return null;
  }

  /** A host write, fill or memset in the tail: replayed, so a whole overwrite makes the object known. */
  private static void overwrite(Sim s, long offset, long length) {
    if (s != null && s.size >= 0 && offset == 0 && length >= s.size) {
      s.state = State.KNOWN;
      s.why = null;
    }
  }

  /**
   * The base as ops in their original order: every kept op, and after each one the free that ended
   * what it created if a kept op still needed it.
   */
  List<Op> rebuildOps() {
    List<Op> ops = new ArrayList<>(kept.size());
    for (Kept k : kept) {
      ops.add(k.op);
      if (k.end != null) {
        ops.add(k.end);
      }
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
    dropBase();
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

  /**
   * Whether a module image declares module-scope variables, and writable ({@code .global}) ones, read
   * from its PTX text: a state-space directive that begins a statement at module scope (inside a
   * function, {@code .global} only appears after a dot, as in {@code ld.global}, or after
   * {@code .ptr} in a parameter). An image that is not PTX text (a cubin) is assumed to have both.
   */
  record ModuleVariables(boolean any, boolean writable) {
    private static final Pattern COMMENTS = Pattern.compile("//[^\\n]*|/\\*.*?\\*/", Pattern.DOTALL);
    private static final Pattern GLOBAL = Pattern.compile(
        "(?m)^\\s*(?:\\.(?:visible|extern|weak)\\s+)*\\.global\\s");
    private static final Pattern CONST = Pattern.compile(
        "(?m)^\\s*(?:\\.(?:visible|extern|weak)\\s+)*\\.const\\s");

    static ModuleVariables of(ByteString image) {
      String text = image.toString(StandardCharsets.ISO_8859_1);
      if (!text.contains(".entry") && !text.contains(".version")) {
        return new ModuleVariables(true, true);
      }
      String code = COMMENTS.matcher(text).replaceAll(" ");
      boolean global = GLOBAL.matcher(code).find();
      return new ModuleVariables(global || CONST.matcher(code).find(), global);
    }
  }
}
