package io.spillway.node.slice;

import io.spillway.node.driver.GpuDevice;
import io.spillway.pool.placement.CardCapacity;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The node's own record of the slices on its cards, and the last line of admission: whatever a gateway
 * decided, a slice is only opened here if it fits.
 *
 * <p>Invariant, under any interleaving of {@link #reserve} and {@link #release}: on every card the
 * slices' memory adds up to at most the card's memory less the reserve, their compute to at most
 * 100 percent, and their number to at most the sessions a card may hold. Both methods hold the table's monitor for the whole decision, so concurrent opens cannot
 * both take the last slice.
 */
public final class SliceTable {

  /** A granted slice of one card. */
  public record Slice(GpuDevice gpu, long memoryBytes, int computePercent) {}

  /** Why a request was refused; the message says what was asked and what is free. */
  public static final class SliceUnavailableException extends Exception {
    private final boolean badRequest;

    SliceUnavailableException(String message, boolean badRequest) {
      super(message);
      this.badRequest = badRequest;
    }

    /** True when the request can never fit here (unknown card, slice larger than a card). */
    public boolean badRequest() {
      return badRequest;
    }
  }

  /**
   * What a session asks for, per GPU. {@code memoryPercent} (of the card's memory less the reserve) is
   * used when {@code memoryBytes} is 0; {@code computePercent} 0 reserves no compute.
   */
  public record Request(int gpuCount, long memoryBytes, int memoryPercent, int computePercent,
      List<String> models, List<String> excludeModels, boolean spread, List<String> gpuUuids) {}

  private final List<GpuDevice> gpus;
  private final long reserveBytes;
  private final int maxSessionsPerCard;
  private final Map<String, long[]> used = new HashMap<>(); // uuid -> {memory, compute, sessions}

  public SliceTable(List<GpuDevice> gpus, long reserveBytes) {
    this(gpus, reserveBytes, Integer.MAX_VALUE);
  }

  /** @param maxSessionsPerCard slices one card may hold, however small (each takes a context) */
  public SliceTable(List<GpuDevice> gpus, long reserveBytes, int maxSessionsPerCard) {
    this.gpus = List.copyOf(gpus);
    this.reserveBytes = reserveBytes;
    this.maxSessionsPerCard = maxSessionsPerCard;
    for (GpuDevice g : gpus) {
      used.put(g.uuid(), new long[3]);
    }
  }

  public long reserveBytes() {
    return reserveBytes;
  }

  public List<GpuDevice> gpus() {
    return gpus;
  }

  /** Reserves one slice per GPU asked for, all or none. */
  public synchronized List<Slice> reserve(Request req) throws SliceUnavailableException {
    int count = Math.max(1, req.gpuCount());
    if (!req.gpuUuids().isEmpty() && req.gpuUuids().size() != count) {
      throw new SliceUnavailableException("slice.gpu_uuids names " + req.gpuUuids().size()
          + " cards but gpu_count is " + count, true);
    }
    List<GpuDevice> candidates = new ArrayList<>();
    if (!req.gpuUuids().isEmpty()) {
      for (String uuid : req.gpuUuids()) {
        GpuDevice g = gpus.stream().filter(d -> d.uuid().equals(uuid)).findFirst().orElse(null);
        if (g == null) {
          throw new SliceUnavailableException("slice.gpu_uuids: no card " + uuid + " on this node", true);
        }
        if (candidates.contains(g)) {
          throw new SliceUnavailableException("slice.gpu_uuids names card " + uuid + " twice", true);
        }
        candidates.add(g);
      }
    } else {
      for (GpuDevice g : gpus) {
        if (matches(g, req)) {
          candidates.add(g);
        }
      }
    }
    List<Slice> chosen = new ArrayList<>();
    List<GpuDevice> fitting = new ArrayList<>();
    for (GpuDevice g : candidates) {
      long mem = memoryFor(g, req);
      if (fits(g, mem, compute(req))) {
        fitting.add(g);
      }
    }
    if (!req.gpuUuids().isEmpty() && fitting.size() < candidates.size()) {
      GpuDevice full = candidates.stream().filter(g -> !fitting.contains(g)).findFirst().orElseThrow();
      throw new SliceUnavailableException(describeMiss(req, List.of(full)), false);
    }
    Comparator<GpuDevice> order = Comparator.comparingLong(g -> free(g) - memoryFor(g, req));
    if (req.spread()) {
      order = order.reversed();
    }
    fitting.sort(order.thenComparingInt(GpuDevice::index));
    if (fitting.size() < count) {
      throw new SliceUnavailableException(describeMiss(req, candidates), candidates.size() < count);
    }
    for (GpuDevice g : fitting.subList(0, count)) {
      long mem = memoryFor(g, req);
      long[] u = used.get(g.uuid());
      u[0] += mem;
      u[1] += compute(req);
      u[2]++;
      chosen.add(new Slice(g, mem, compute(req)));
    }
    return List.copyOf(chosen);
  }

  public synchronized void release(List<Slice> slices) {
    for (Slice s : slices) {
      long[] u = used.get(s.gpu().uuid());
      u[0] -= s.memoryBytes();
      u[1] -= s.computePercent();
      u[2]--;
    }
  }

  /** Memory reserved by slices on a card. */
  public synchronized long allocatedBytes(GpuDevice g) {
    return used.get(g.uuid())[0];
  }

  public synchronized int allocatedComputePercent(GpuDevice g) {
    return (int) used.get(g.uuid())[1];
  }

  public synchronized int sessions(GpuDevice g) {
    return (int) used.get(g.uuid())[2];
  }

  private static int compute(Request req) {
    return req.computePercent();
  }

  /** The card rule, shared with the gateway's placer and the lease leader. */
  private CardCapacity capacity(GpuDevice g) {
    return new CardCapacity(g.memoryBytes() - reserveBytes);
  }

  private long free(GpuDevice g) {
    return capacity(g).freeBytes(used.get(g.uuid())[0]);
  }

  private boolean fits(GpuDevice g, long mem, int computePercent) {
    long[] u = used.get(g.uuid());
    if (u[2] >= maxSessionsPerCard) {
      return false;
    }
    return capacity(g).fits(u[0], (int) u[1], mem, computePercent);
  }

  private long memoryFor(GpuDevice g, Request req) {
    if (req.memoryBytes() > 0) {
      return req.memoryBytes();
    }
    return (g.memoryBytes() - reserveBytes) / 100 * req.memoryPercent();
  }

  private static boolean matches(GpuDevice g, Request req) {
    String model = g.model().toLowerCase(Locale.ROOT);
    if (!req.models().isEmpty()
        && req.models().stream().noneMatch(m -> m.toLowerCase(Locale.ROOT).equals(model))) {
      return false;
    }
    return req.excludeModels().stream().noneMatch(m -> m.toLowerCase(Locale.ROOT).equals(model));
  }

  private String describeMiss(Request req, List<GpuDevice> candidates) {
    StringBuilder sb = new StringBuilder("no ");
    int count = Math.max(1, req.gpuCount());
    sb.append(count == 1 ? "card" : count + " cards").append(" on this node fit");
    sb.append(count == 1 ? "s " : " ");
    sb.append(req.memoryBytes() > 0 ? req.memoryBytes() + " bytes" : req.memoryPercent() + "% of memory");
    sb.append(" and ").append(req.computePercent()).append("% compute");
    if (!req.models().isEmpty()) {
      sb.append(" of model in ").append(req.models());
    }
    if (!req.excludeModels().isEmpty()) {
      sb.append(" excluding ").append(req.excludeModels());
    }
    sb.append(": ");
    if (candidates.isEmpty()) {
      sb.append("no card matches the model labels (cards: ");
      sb.append(gpus.stream().map(GpuDevice::model).distinct().toList()).append(')');
      return sb.toString();
    }
    sb.append("free");
    for (GpuDevice g : candidates) {
      long[] u = used.get(g.uuid());
      sb.append(String.format(Locale.ROOT, " [gpu %d %s: %d bytes, %d%% compute%s]",
          g.index(), g.model(), free(g), capacity(g).freeCompute((int) u[1]),
          u[2] >= maxSessionsPerCard ? ", no session: it holds " + u[2] + " sessions, the most a card may"
              + " (--max-sessions-per-card " + maxSessionsPerCard + ")" : ""));
    }
    return sb.toString();
  }
}
