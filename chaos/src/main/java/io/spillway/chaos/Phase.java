package io.spillway.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What happened during one scenario (or the baseline before the first): every request whose start fell
 * in the phase is counted here, by outcome.
 */
final class Phase {

  /** Whether and how the fault was injected. */
  record Injection(boolean injected, String what) {
    static Injection none(String why) {
      return new Injection(false, why);
    }
  }

  final String name;
  final String fault;
  final long startNanos = System.nanoTime();
  volatile long faultNanos = Long.MAX_VALUE;
  volatile long healedNanos = Long.MAX_VALUE;
  volatile Injection injection = Injection.none("no fault in this phase");
  /** Client indexes whose session was on the failed component when the fault was injected. */
  volatile Set<Integer> affected = Set.of();
  /** Sessions on the center at injection, for context. */
  volatile int centerSessions = -1;

  final LongAdder sent = new LongAdder();
  final LongAdder correct = new LongAdder();
  final LongAdder failedClear = new LongAdder();
  final LongAdder lost = new LongAdder();
  final LongAdder wrong = new LongAdder();
  final LongAdder opens = new LongAdder();
  final LongAdder openFailed = new LongAdder();
  final LongAdder sentBeforeFault = new LongAdder();
  final LongAdder completedAfterFault = new LongAdder();
  /** Sessions that changed device without the client reopening them (a replay or failback notice). */
  final LongAdder moved = new LongAdder();
  final ConcurrentMap<String, LongAdder> failures = new ConcurrentHashMap<>();
  final ConcurrentMap<String, LongAdder> lostReasons = new ConcurrentHashMap<>();
  /**
   * Longest time any client went without a correct answer after the fault: from the fault (or its last
   * correct answer after it) to its next correct answer.
   */
  final java.util.concurrent.atomic.AtomicLong maxStallNanos = new java.util.concurrent.atomic.AtomicLong();
  /** Client index → nanoseconds from the fault to its first correct answer after it. */
  final ConcurrentMap<Integer, Long> gaps = new ConcurrentHashMap<>();
  final List<String> notes = java.util.Collections.synchronizedList(new ArrayList<>());

  Phase(String name, String fault) {
    this.name = name;
    this.fault = fault;
  }

  boolean faulted() {
    return faultNanos != Long.MAX_VALUE;
  }

  void note(String text) {
    notes.add(text);
  }

  static void count(ConcurrentMap<String, LongAdder> histogram, String key) {
    histogram.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  static Map<String, Long> sorted(ConcurrentMap<String, LongAdder> histogram) {
    Map<String, Long> out = new TreeMap<>();
    histogram.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  /** Gaps of the affected sessions that answered again, in milliseconds, ascending. */
  List<Double> gapMillis() {
    return gaps.values().stream().sorted().map(n -> n / 1e6).toList();
  }
}
