package io.spillway.pool.failover;

import io.spillway.pool.failover.Lineage.Obj;
import io.spillway.pool.failover.Lineage.State;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.PointerSlot;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Whether a rebuild from the journal would reproduce the session: it runs the tail, op by op, over what
 * the base knows of each live object (known, dirty or unknown contents) and answers with the first
 * reason it would not. The base and the tail are only read.
 *
 * <p>Stateless; called on its session's serializing executor, through its {@link SessionJournal}.
 */
final class ReplayCheck {
  private ReplayCheck() {}

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

  /**
   * Null if a session with this base and these tail ops (less those that failed) can be rebuilt, else
   * why not (for the client).
   */
  static String whyNot(JournalBase base, List<Op> tail) {
    Map<Obj, Sim> sims = new IdentityHashMap<>();
    Map<Long, Sim> live = new HashMap<>();
    Map<Long, SimMod> mods = new HashMap<>();
    base.handles().forEach((h, hd) -> live.put(h, sims.computeIfAbsent(hd.obj(),
        o -> new Sim(o.name, o.persistent, o.size, o.state, o.why))));
    base.modules().forEach((m, mod) -> mods.put(m, new SimMod(sims.computeIfAbsent(mod.variables(),
        o -> new Sim(o.name, true, -1, o.state, o.why)), mod.hasVariables(), mod.writableVariables())));
    for (Op op : tail) {
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
    Set<Sim> seen = Collections.newSetFromMap(new IdentityHashMap<>());
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

  /** How a launch argument names its access, as the SDK spells it. */
  static String access(Access a) {
    return switch (a) {
      case ACCESS_READ -> "in";
      case ACCESS_WRITE -> "out";
      case ACCESS_READ_WRITE -> "inOut";
      default -> "ptr (access not said: read and write)";
    };
  }
}
