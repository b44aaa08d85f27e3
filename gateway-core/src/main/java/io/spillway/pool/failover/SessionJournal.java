package io.spillway.pool.failover;

import static io.spillway.pool.failover.JournalAccount.OP_OVERHEAD;

import com.google.protobuf.ByteString;
import io.spillway.pool.failover.JournalTail.Entry;
import io.spillway.pool.forward.FrameScan;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Write;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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
 * <p>The jobs are split: {@link JournalTail} records the ops since the last synchronizing call and how
 * far the answers have come; {@link JournalBase} and {@link Lineage} hold the base and what depends on
 * what; {@link ReplayCheck} says whether a rebuild would reproduce the session; {@link JournalAccount}
 * counts the bytes against the bounds. This class decides, op by op, what each of them is told.
 *
 * <p>Not thread-safe: used only on its session's serializing executor (through its {@link Recording}).
 */
final class SessionJournal {

  /** The gateway-wide pool of journal bytes. */
  interface Budget {
    /** Takes {@code bytes} if the gateway's bound allows; false otherwise. */
    boolean tryTake(long bytes);

    void give(long bytes);
  }

  private final JournalAccount account;
  private final JournalTail tail = new JournalTail();
  private final JournalBase base;
  /** Persistence of each handle as of the last op received (the tail included). */
  private final Map<Long, Boolean> persistentNow = new HashMap<>();
  /** Handles bound to module variables as of the last op received. */
  private final Set<Long> variablesNow = new HashSet<>();
  /** The session has used copies, memsets, raw launches or module variables (protocol version 2). */
  private boolean rawOps;
  private String broken;
  private boolean overflowTold;

  SessionJournal(long maxBytes, Budget budget) {
    this.account = new JournalAccount(maxBytes, budget);
    this.base = new JournalBase(new Lineage(account));
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
                  + ReplayCheck.access(arg.getPtr().getAccess()) + ": a kernel may have written it, so its"
                  + " journaled contents would be stale on another GPU (pass it as KernelArg.in if the kernel"
                  + " only reads it)");
            }
          }
        }
        case GET_GLOBAL -> {
          rawOps = true;
          variablesNow.add(op.getGetGlobal().getHandle());
          tail.awaitAnswer(op.getSeq());
        }
        case COPY, MEMSET, LAUNCH_RAW -> rawOps = true;
        case UNREPLAYABLE -> {
          String told = markUnreplayable("the client said so (seq " + op.getSeq() + "): "
              + op.getUnreplayable().getReason());
          notice = told != null ? told : notice;
        }
        case READ, SYNCHRONIZE, CLOSE, EVENT_ELAPSED -> tail.awaitAnswer(op.getSeq());
        default -> { }
      }
      if (broken != null || op.hasOpen()) {
        continue;
      }
      long bytes = op.getSerializedSize() + OP_OVERHEAD;
      boolean fits = account.fitsSession(bytes)
          && (needsBase(op) || (tail.stripped() == 0 && account.fitsTail(bytes)));
      if (fits && account.takeForTail(bytes)) {
        tail.add(new Entry(op, bytes, false));
        added++;
        continue;
      }
      partial = true;
      String bound = !account.fitsSession(bytes)
          ? "the session's journal bound of " + account.maxBytes() + " bytes"
          : !fits ? "the bound on data since the last synchronizing call (" + account.maxTailBytes()
              + " bytes, a quarter of the session's)"
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
      tail.unalias(added);
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
    // Even without their data, ops that are never synchronized would grow the tail without end.
    if (!account.fitsSession(small)) {
      return breakJournal("ops sent since the last synchronizing call, even without their data, pass the"
          + " session's journal bound of " + account.maxBytes() + " bytes (" + why + ")");
    }
    if (!account.takeForTail(small)) {
      return breakJournal("ops sent since the last synchronizing call, even without their data, pass the"
          + " gateway's journal bound (all sessions together) (" + why + ")");
    }
    boolean first = tail.stripped() == 0;
    tail.add(new Entry(stripped, small, true));
    if (first && !overflowTold) {
      overflowTold = true;
      return "session cannot be rebuilt on another GPU until its next synchronizing call completes"
          + (rawOps ? ", nor while a buffer it wrote lives without being overwritten whole" : "") + ": "
          + why + " (said once; /sessions shows it each time)";
    }
    return null;
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
    return tail.stripped() > 0 || !account.fitsTail(total);
  }

  /** Journals the writes of {@link #dropsWithoutData} as ops without data; returns a notice or null. */
  String onWritesWithoutData(List<FrameScan.WriteFacts> writes) {
    if (broken != null) {
      return null;
    }
    String notice = null;
    for (FrameScan.WriteFacts w : writes) {
      String told = addStripped(Op.newBuilder().setSeq(w.seq()).setWrite(Write.newBuilder()
          .setHandle(w.handle()).setOffset(w.offset())).build(), "writes since the last one pass the bound on"
          + " data since the last synchronizing call (" + account.maxTailBytes() + " bytes, a quarter of the"
          + " session's)");
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
    return JournalTail.copyOf(op);
  }

  /** The session can never be rebuilt again; returns the notice for the client. */
  String markUnreplayable(String why) {
    return broken != null ? null : breakJournal(why);
  }

  private String breakJournal(String why) {
    broken = why;
    account.giveAll();
    base.clear();
    tail.clear();
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
      tail.readProgress(facts.readSeq(), facts.readBytes());
    }
  }

  /** The client got an error for op {@code seq}. An error on a synchronizing op completes it. */
  void failed(long seq) {
    if (tail.fail(seq)) {
      answered(seq);
    }
  }

  /** The client got the answer of synchronizing op {@code seq}: every op up to it is done. */
  void answered(long seq) {
    tail.answeredUpTo(seq);
    for (Entry e = tail.pollDone(seq); e != null; e = tail.pollDone(seq)) {
      fold(e);
    }
    tail.doneUpTo(seq);
  }

  /** Bytes of read {@code seq} the client has now, after a rebuilt session resent part of it. */
  void readDelivered(long seq, long bytes) {
    tail.readDelivered(seq, bytes);
  }

  /** Moves a completed op from the tail into the base; its tail entry's bytes pay for what the base keeps. */
  private void fold(Entry e) {
    account.beginFold(e.bytes());
    try {
      if (broken == null && !tail.failed(e.op().getSeq())) {
        base.fold(e.op(), e.stripped(), rawOps);
      }
    } finally {
      account.endFold();
    }
  }

  // ---- rebuilding

  /** Null if the session can be rebuilt now, else why not (for the client). */
  String whyNotReplayable() {
    if (broken != null) {
      return broken;
    }
    if (tail.stripped() > 0) {
      return "the operations since its last completed synchronizing call passed the journal bound";
    }
    return ReplayCheck.whyNot(base, tail.ops());
  }

  /**
   * The base as ops in their original order: every kept op, and after each one the free that ended
   * what it created if a kept op still needed it.
   */
  List<Op> rebuildOps() {
    return base.ops();
  }

  /** The ops since the last completed synchronizing call, less those that failed. */
  List<Op> tailOps() {
    return tail.ops();
  }

  /** Sequence numbers of tail ops whose errors the client already has. */
  Set<Long> failedInTail() {
    return tail.failedSeqs();
  }

  /** The read whose answer was partly delivered, or -1, and how many of its bytes the client has. */
  long partialReadSeq() {
    return tail.partialReadSeq();
  }

  long partialReadBytes() {
    return tail.partialReadBytes();
  }

  /** No op in flight: every op sent has been answered by a synchronizing call. */
  boolean idle() {
    return tail.idle();
  }

  long bytes() {
    return account.bytes();
  }

  boolean replayable() {
    return broken == null && tail.stripped() == 0;
  }

  /** Gives every byte back to the gateway's budget; the journal is not used afterwards. */
  void close() {
    account.giveAll();
    base.clear();
    tail.clear();
  }

  private static String describe(Op op) {
    return op.getKindCase().name().toLowerCase(Locale.ROOT) + " (seq " + op.getSeq() + ", "
        + op.getSerializedSize() + " bytes)";
  }
}
