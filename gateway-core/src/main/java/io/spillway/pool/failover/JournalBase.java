package io.spillway.pool.failover;

import static io.spillway.pool.failover.JournalAccount.OP_OVERHEAD;
import static io.spillway.pool.failover.Lineage.hold;

import com.google.protobuf.ByteString;
import io.spillway.pool.failover.Lineage.Kept;
import io.spillway.pool.failover.Lineage.Obj;
import io.spillway.pool.failover.Lineage.State;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.PointerSlot;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The session's live state as of its last completed synchronizing call: its handles (buffers and
 * module-variable bindings), modules and events, each with the base op it came from, and what each
 * completed op does to them. {@link #fold} turns a completed op into kept ops of the {@link Lineage}
 * (see {@link SessionJournal} for the rules), or into lost contents.
 *
 * <p>Not thread-safe: used only on its session's serializing executor, through its
 * {@link SessionJournal}.
 */
final class JournalBase {

  /** A live handle: what it names, the op that created it, and for a module variable its name. */
  record Handle(Obj obj, Kept origin, String variable) {}

  /** A live module: its load, its variables, and whether its kernels read or write them. */
  record Mod(Kept load, Obj variables, boolean hasVariables, boolean writableVariables) {}

  private final Lineage lineage;
  private final Map<Long, Handle> handles = new HashMap<>();
  private final Map<Long, Mod> modules = new HashMap<>();
  private final Map<Long, Kept> events = new HashMap<>();

  JournalBase(Lineage lineage) {
    this.lineage = lineage;
  }

  Map<Long, Handle> handles() {
    return Collections.unmodifiableMap(handles);
  }

  Map<Long, Mod> modules() {
    return Collections.unmodifiableMap(modules);
  }

  /** The base as ops to replay, in their original order. */
  List<Op> ops() {
    return lineage.ops();
  }

  /** Forgets the base (its bytes are given back by the caller, all at once). */
  void clear() {
    lineage.clear();
    handles.clear();
    modules.clear();
    events.clear();
  }

  /**
   * Moves a completed op that did not fail into the base.
   *
   * @param stripped its data was not kept (it passed a bound)
   * @param rawOps the session has used copies, memsets, raw launches or module variables: a host write
   *     whose data was not kept then leaves its buffer unknown rather than dirty
   */
  void fold(Op op, boolean stripped, boolean rawOps) {
    switch (op.getKindCase()) {
      case ALLOC -> {
        long h = op.getAlloc().getHandle();
        Kept origin = lineage.keep(new Kept(op, 0));
        Obj obj = new Obj("buffer " + h, op.getAlloc().getPersistent(), op.getAlloc().getBytes());
        handles.put(h, new Handle(obj, hold(origin), null));
      }
      case FREE -> free(op);
      case LOAD_MODULE -> {
        Op copy = op.toBuilder().setLoadModule(op.getLoadModule().toBuilder()
            .setImage(ByteString.copyFrom(op.getLoadModule().getImage().asReadOnlyByteBuffer()))).build();
        Kept load = hold(lineage.keep(new Kept(copy, copy.getLoadModule().getImage().size() + OP_OVERHEAD)));
        ModuleVariables v = ModuleVariables.of(copy.getLoadModule().getImage());
        long m = op.getLoadModule().getModule();
        modules.put(m, new Mod(load, new Obj("the variables of module " + m, true, -1), v.any(), v.writable()));
      }
      case GET_GLOBAL -> {
        Mod mod = modules.get(op.getGetGlobal().getModule());
        if (mod != null) {
          Kept bind = lineage.keep(new Kept(op, OP_OVERHEAD));
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
        if (stripped) {
          lineage.lose(h.obj(), rawOps ? State.UNKNOWN : State.DIRTY, "write (seq " + op.getSeq() + ") passed"
              + " the journal bound, so its data was not kept");
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
      case COPY -> copy(op, stripped);
      case LAUNCH -> {
        Mod mod = modules.get(op.getLaunch().getModule());
        String by = "kernel " + op.getLaunch().getFunction() + " (seq " + op.getSeq() + "), a typed launch";
        for (KernelArg arg : op.getLaunch().getArgsList()) {
          Handle h = arg.hasPtr() ? handles.get(arg.getPtr().getHandle()) : null;
          if (h != null && arg.getPtr().getAccess() != Access.ACCESS_READ) {
            lineage.lose(h.obj(), State.DIRTY, "it was written by " + by);
          }
        }
        if (mod != null && mod.writableVariables()) {
          lineage.lose(mod.variables(), State.DIRTY, "they may have been written by " + by);
        }
      }
      case LAUNCH_RAW -> launchRaw(op, stripped);
      case EVENT_RECORD -> {
        // Replayed with its time marked as lost: times on two GPUs do not compare.
        Op replayed = op.toBuilder().setEventRecord(op.getEventRecord().toBuilder().setReplayed(true)).build();
        lineage.release(events.put(op.getEventRecord().getEvent(),
            hold(lineage.keep(new Kept(replayed, OP_OVERHEAD)))));
      }
      case EVENT_FREE -> lineage.release(events.remove(op.getEventFree().getEvent()));
      default -> { }
    }
  }

  private void free(Op op) {
    long handle = op.getFree().getHandle();
    Mod mod = modules.remove(handle);
    if (mod != null) {
      lineage.unhold(mod.variables());
      lineage.end(mod.load(), op);
      lineage.release(mod.load());
      return;
    }
    Handle h = handles.remove(handle);
    if (h != null) {
      lineage.unhold(h.obj());
      lineage.end(h.origin(), op);
      lineage.release(h.origin());
    }
  }

  /** A write, fill or memset from the host: {@code length} bytes at {@code offset}. */
  private void hostWrite(Handle h, Op op, long bytes, long offset, long length) {
    Obj obj = h.obj();
    String key = h.variable() == null ? "" : h.variable();
    Kept k = lineage.keep(new Kept(op, bytes, key, offset, length));
    k.needs.add(hold(h.origin()));
    boolean whole = obj.size >= 0 && offset == 0 && length >= obj.size;
    if (whole) {
      obj.state = State.KNOWN;
      obj.why = null;
      lineage.replace(obj, k);
    } else if (obj.state == State.KNOWN) {
      lineage.append(obj, k, true);
    } else {
      // Part of a buffer whose other bytes are lost: keeping this would not make it rebuildable.
      lineage.dropIfUnheld(k);
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
      lineage.lose(dst.obj(), State.UNKNOWN, stripped ? what + " passed the journal bound" : what
          + " copied it from " + src.obj().name + ", whose contents are not journaled (" + src.obj().why + ")");
      return;
    }
    Kept k = lineage.keep(new Kept(op, OP_OVERHEAD, dst.variable() == null ? "" : dst.variable(),
        c.getDstOffset(), c.getBytes()));
    k.needs.add(hold(dst.origin()));
    k.needs.add(hold(src.origin()));
    k.reads.add(hold(src.obj().contents));
    Obj obj = dst.obj();
    if (obj.size >= 0 && c.getDstOffset() == 0 && c.getBytes() >= obj.size) {
      obj.state = State.KNOWN;
      obj.why = null;
      lineage.replace(obj, k);
    } else if (obj.state == State.KNOWN) {
      lineage.append(obj, k, true);
    } else {
      lineage.dropIfUnheld(k);
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
        lineage.lose(w, State.UNKNOWN, lost);
      }
      return;
    }
    Kept k = lineage.keep(new Kept(op, op.getSerializedSize() + OP_OVERHEAD));
    for (Kept n : needs) {
      k.needs.add(hold(n));
    }
    for (Obj r : reads) {
      k.reads.add(hold(r.contents));
    }
    for (Obj w : writes) {
      if (reads.contains(w)) {
        // It read all of w's contents: replaying it replays them first, so it alone stands for them.
        lineage.replace(w, k);
      } else if (w.state == State.KNOWN) {
        lineage.append(w, k, false);
      }
    }
    // Held by nothing when everything it wrote was already lost.
    lineage.dropIfUnheld(k);
  }
}
