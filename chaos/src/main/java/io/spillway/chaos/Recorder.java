package io.spillway.chaos;

import io.grpc.Status;
import io.spillway.client.SpillwayException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;

/**
 * Counts every request of every load client into the phase it started in, and classifies failures:
 * <ul>
 *   <li><b>correct</b>: the answer matches the CPU reference within the tolerance;
 *   <li><b>wrong</b>: an answer that does not;
 *   <li><b>failed with a clear status</b>: a {@link SpillwayException} with a gRPC code other than
 *       {@code UNKNOWN} and a description, before the timeout;
 *   <li><b>lost</b>: no answer within the request timeout, or an exception without a clear status.
 * </ul>
 */
final class Recorder {

  private static final Pattern IDS = Pattern.compile(
      "[0-9a-fA-F]{8}-[0-9a-fA-F-]{27,}|lease-\\S+|\\b[0-9a-f]{12,}\\b|\\d+(\\.\\d+)?");

  private final float tolerance;
  private final long timeoutNanos;
  private final List<Phase> phases = new CopyOnWriteArrayList<>();
  private volatile Phase current;
  private final java.util.concurrent.ConcurrentMap<Integer, Long> lastCorrect = new java.util.concurrent.ConcurrentHashMap<>();

  Recorder(float tolerance, java.time.Duration requestTimeout) {
    this.tolerance = tolerance;
    this.timeoutNanos = requestTimeout.toNanos();
    begin(new Phase("baseline", "none"));
  }

  /** Starts a phase: requests started from now on count there. */
  Phase begin(Phase p) {
    phases.add(p);
    current = p;
    return p;
  }

  Phase current() {
    return current;
  }

  List<Phase> phases() {
    return List.copyOf(phases);
  }

  float tolerance() {
    return tolerance;
  }

  /** An answer arrived: compares it with the reference. */
  void answered(Phase p, int client, long t0, long t1, float diff) {
    p.sent.increment();
    if (t0 < p.faultNanos) {
      p.sentBeforeFault.increment();
    }
    if (diff <= tolerance) {
      p.correct.increment();
      if (t0 >= p.faultNanos) {
        p.completedAfterFault.increment();
      }
      Long previous = lastCorrect.put(client, t1);
      long prev = previous == null ? 0 : previous;
      Phase origin = null;
      for (Phase f : phases) {
        if (f.startNanos <= prev) {
          origin = f; // the phase in which this client's silence began
        }
        // A request sent after the fault: an answer already on its way when the fault hit does not count.
        if (f.faulted() && t0 >= f.faultNanos && f.affected.contains(client)) {
          f.gaps.putIfAbsent(client, t1 - f.faultNanos);
        }
      }
      stall(origin, prev, t1);
      if (current != origin) {
        stall(current, prev, t1);
      }
    } else {
      p.wrong.increment();
      Phase.count(p.lostReasons, "wrong result: max |diff| " + String.format(Locale.ROOT, "%.2g", diff));
    }
  }

  private static void stall(Phase f, long prev, long t1) {
    if (f != null && f.faulted() && t1 > f.faultNanos) {
      f.maxStallNanos.accumulateAndGet(t1 - Math.max(prev, f.faultNanos), Math::max);
    }
  }

  /** A request (or, with {@code open}, an open) ended with an exception after {@code t1 - t0} ns. */
  void failed(Phase p, int client, long t0, long t1, RuntimeException e, boolean open) {
    if (open) {
      p.opens.increment();
    } else {
      p.sent.increment();
      if (t0 < p.faultNanos) {
        p.sentBeforeFault.increment();
      }
    }
    String where = open ? "open" : "request";
    if (e instanceof SpillwayException s && s.code() != Status.Code.UNKNOWN && s.description() != null
        && !s.description().isBlank() && t1 - t0 < timeoutNanos - 1_000_000_000L) {
      if (open) {
        p.openFailed.increment();
      } else {
        p.failedClear.increment();
      }
      Phase.count(p.failures, where + ": " + s.code() + " " + shortReason(s.description()));
    } else {
      p.lost.increment();
      String why = e instanceof SpillwayException s
          ? s.code() + " " + shortReason(String.valueOf(s.description())) + " after "
              + (t1 - t0) / 1_000_000 + " ms"
          : e.getClass().getSimpleName() + ": " + shortReason(String.valueOf(e.getMessage()));
      Phase.count(p.lostReasons, where + ": " + why);
    }
  }

  void opened(Phase p) {
    p.opens.increment();
  }

  /** The first 90 characters of a description with ids and numbers replaced by '#'. */
  static String shortReason(String description) {
    String s = IDS.matcher(description.replace('\n', ' ')).replaceAll("#");
    return s.length() > 90 ? s.substring(0, 90) + "…" : s;
  }
}
