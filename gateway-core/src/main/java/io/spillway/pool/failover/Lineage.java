package io.spillway.pool.failover;

import io.spillway.protocol.v1.Op;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The ops of a journal's base and what depends on what: which kept ops produced each object's contents,
 * which contents and origins each kept op needs replayed before it. An op stays in the base while
 * anything holds it (reference counts), and leaves it, with its bytes, once nothing does.
 *
 * <p>Invariant: every kept op is held by live state ({@link JournalBase}'s handles, modules, events, or
 * an object's contents) or by another kept op that reads what it produced; {@link #release} drops what
 * nothing holds, transitively.
 *
 * <p>Not thread-safe: used only on its session's serializing executor, through its
 * {@link SessionJournal}.
 */
final class Lineage {

  /** What the journal knows of an object's contents. */
  enum State {
    /** Its contents ops reproduce it. */
    KNOWN,
    /** A typed launch wrote it: not journaled, and by the SDK's contract not read before written again. */
    DIRTY,
    /** Written from something not journaled: it cannot be rebuilt. */
    UNKNOWN
  }

  /**
   * An op kept in the base. Reference-counted: held by the live state that depends on it (a buffer's
   * contents, a handle, a module, an event) and by the kept ops that read what it produced.
   */
  static final class Kept {
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
  static final class Contents {
    final List<Kept> producers;
    int refs;

    Contents(List<Kept> producers) {
      this.producers = producers;
    }
  }

  /** A buffer, or the variables of one module. */
  static final class Obj {
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

  private final JournalAccount account;
  /** Every op of the base (identity: one entry per kept op). */
  private final Set<Kept> kept = Collections.newSetFromMap(new IdentityHashMap<>());

  Lineage(JournalAccount account) {
    this.account = account;
  }

  /** A new base op, charged to the base (from the folding op's credit, see {@link JournalAccount}). */
  Kept keep(Kept k) {
    kept.add(k);
    account.chargeBase(k.bytes);
    return k;
  }

  static Kept hold(Kept k) {
    k.refs++;
    return k;
  }

  static Contents hold(Contents c) {
    c.refs++;
    return c;
  }

  /** Drops {@code k} from the base if nothing holds it (what it wrote was already lost). */
  void dropIfUnheld(Kept k) {
    hold(k);
    release(k);
  }

  /** Drops a reference; what nothing holds any more leaves the base (iteratively: chains are long). */
  void release(Object first) {
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
          account.chargeBase(-k.bytes);
          k.reads.forEach(work::push);
          k.needs.forEach(work::push);
        }
      }
    }
  }

  /** The object's contents are no longer journaled. */
  void lose(Obj obj, State state, String why) {
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
  void replace(Obj obj, Kept k) {
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
  void append(Obj obj, Kept k, boolean replaces) {
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
      for (Iterator<Kept> it = c.producers.iterator(); it.hasNext(); ) {
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
  void end(Kept origin, Op free) {
    if (origin.refs > 1) {
      origin.end = free;
      origin.bytes += JournalAccount.OP_OVERHEAD;
      account.chargeBase(JournalAccount.OP_OVERHEAD);
    }
  }

  /** A handle or module that named {@code obj} is gone; its contents go with the last one. */
  void unhold(Obj obj) {
    if (--obj.holders == 0) {
      release(obj.contents);
    }
  }

  /** Forgets every kept op without giving their bytes back (the caller gives the account's all back). */
  void clear() {
    kept.clear();
  }

  /**
   * The base as ops in their original order: every kept op, and after each one the free that ended
   * what it created if a kept op still needed it.
   */
  List<Op> ops() {
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
}
