package io.spillway.simulator;

import io.spillway.pool.model.GpuSpec;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.Placement;
import io.spillway.pool.placement.PlacementStrategy;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.pool.placement.TenantQuotas;
import io.spillway.pool.registry.Node;
import io.spillway.pool.registry.NodeState;
import io.spillway.simulator.trace.TraceSession;
import io.spillway.topology.Edge;
import io.spillway.topology.GpuGroup;
import io.spillway.topology.GpuServer;
import io.spillway.topology.Tenant;
import io.spillway.topology.Topology;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * Replays a trace of sessions through the pool's real {@link SlicePlacer}: one placer per edge, fed with
 * that edge's GPU servers as nodes that came up, and one for the center. Discrete-event: arrivals and
 * departures in time order, nothing sleeps, no GPU and no network.
 *
 * <p><b>Edges.</b> The CSV trace does not say where a session enters. Each session is given an edge once
 * per trace, the same for every policy: one of the edges its tenant may use, drawn with probability
 * proportional to the edge's usable GPU memory (seeded, so a trace always maps the same way).
 *
 * <p><b>Spill.</b> With {@link Policy#spill()}, a session its edge's placer rejects is placed on the
 * center's placer. In the federation the edge first obtains a lease over Kafka; here the lease is
 * modelled by that placement alone (granted whenever the center has room, instantly). Edges' own spill
 * modes ({@code above-utilization}) are not modelled: a session spills only when its edge is full.
 *
 * <p><b>Not modelled.</b> Tenant quotas (the question is what the hardware holds), multi-GPU sessions,
 * node failures, queueing: a rejected session is dropped. Under one-per-card every card is assumed
 * large enough for any single ask.
 *
 * <p><b>Fragmentation.</b> Measured at each rejection by an edge's placer, over the UP cards of that
 * edge whose model the session accepts. <em>Fragmentation</em> is the free memory on those cards that
 * could not take the ask (too little free memory, or too little free compute), divided by those cards'
 * usable memory: the share of the edge's memory that sat free, in pieces the session could not use, when
 * it was turned away; the figure reported is the mean over the edge's rejections. <em>Rejected with
 * room</em> is the share of those rejections at which the free memory summed over the cards would have
 * held the ask: capacity was there, but split across cards. (Free memory on cards too small for the ask,
 * over all free memory, would be 1 at every rejection of a one-GPU session, since the placer rejects only
 * when no card fits; hence the denominator is usable memory.)
 *
 * <p><b>Sampling.</b> Every {@code stepSeconds} from 0, after all events at or before the instant, until
 * the pool is empty or one hour after the last arrival, whichever comes first (sessions still open then
 * are released unsampled).
 *
 * <p><b>Busy window.</b> Means are taken over the samples from {@code min(1 h, a quarter of the arrival
 * span)} (warm-up: the pool starts empty) to the last arrival (after it the pool drains).
 *
 * <p>Not thread-safe; one run at a time.
 */
public final class Simulator {

  private static final String CENTER = "center";
  private static final long EDGE_SEED = 0x5EED_ED6EL;
  /** How long after the last arrival sampling goes on, while the pool drains. */
  private static final double DRAIN_SAMPLED_SECONDS = 3600;

  private final Topology topology;
  private final double stepSeconds;
  private final List<CardInfo> cards = new ArrayList<>();
  private final Map<String, Integer> cardIndex = new HashMap<>();

  /**
   * @param topology a loaded topology
   * @param stepSeconds the sampling step, {@code > 0} (60: every simulated minute)
   */
  public Simulator(Topology topology, double stepSeconds) {
    this.topology = Objects.requireNonNull(topology, "topology");
    if (!(stepSeconds > 0)) {
      throw new IllegalArgumentException("sampling step must be > 0 seconds, got " + stepSeconds);
    }
    this.stepSeconds = stepSeconds;
    for (Edge edge : topology.edges()) {
      for (GpuServer server : edge.gpuServers()) {
        addCards(edge.name(), server);
      }
    }
    for (GpuServer server : topology.center().gpuServers()) {
      addCards(CENTER, server);
    }
  }

  /** Every card simulated: the edges' in topology order, then the center's. */
  public List<CardInfo> cards() {
    return List.copyOf(cards);
  }

  /** Runs every policy over the trace. */
  public SimulationResult run(List<TraceSession> trace, List<Policy> policies) {
    List<TraceSession> ordered = inArrivalOrder(trace);
    List<String> edges = assignEdges(ordered);
    double lastArrival = ordered.isEmpty() ? 0 : ordered.get(ordered.size() - 1).arrivalSeconds();
    double windowStart = Math.min(3600, lastArrival / 4);
    List<PolicyResult> results = new ArrayList<>();
    for (Policy policy : policies) {
      results.add(new Run(policy, ordered, edges, windowStart, lastArrival).run());
    }
    return new SimulationResult(topology.name(), ordered.size(), cards, stepSeconds, windowStart, lastArrival,
        results);
  }

  /** Runs one policy over the trace. */
  public PolicyResult run(List<TraceSession> trace, Policy policy) {
    return run(trace, List.of(policy)).policies().get(0);
  }

  /** Stable sort by arrival: ties keep trace order. */
  public static List<TraceSession> inArrivalOrder(List<TraceSession> trace) {
    List<TraceSession> ordered = new ArrayList<>(trace);
    ordered.sort(Comparator.comparingDouble(TraceSession::arrivalSeconds));
    return ordered;
  }

  private void addCards(String pool, GpuServer server) {
    int index = 0;
    for (GpuGroup group : server.gpus()) {
      for (int i = 0; i < group.count(); i++) {
        CardInfo card = new CardInfo(pool, server.name(), index++, group.model().label(),
            group.usableMemory().bytes());
        cardIndex.put(card.id(), cards.size());
        cards.add(card);
      }
    }
  }

  private List<String> assignEdges(List<TraceSession> ordered) {
    SplittableRandom random = new SplittableRandom(EDGE_SEED);
    List<String> out = new ArrayList<>(ordered.size());
    for (TraceSession s : ordered) {
      Tenant tenant = topology.tenant(s.tenant()).orElseThrow(() -> new IllegalArgumentException(s.origin()
          + ": tenant " + s.tenant() + " is not in topology " + topology.name() + "; tenants: "
          + topology.tenants().stream().map(Tenant::name).toList()));
      List<Edge> allowed = topology.edges().stream().filter(e -> tenant.mayUse(e.name())).toList();
      double[] weights = new double[allowed.size()];
      double total = 0;
      for (int i = 0; i < weights.length; i++) {
        weights[i] = usableBytes(allowed.get(i));
        total += weights[i];
      }
      double u = random.nextDouble();
      int chosen = 0;
      if (total > 0) {
        double x = u * total;
        while (chosen < weights.length - 1 && x >= weights[chosen]) {
          x -= weights[chosen];
          chosen++;
        }
      } else {
        chosen = (int) (u * allowed.size());
      }
      out.add(allowed.get(chosen).name());
    }
    return out;
  }

  private static long usableBytes(Edge edge) {
    long sum = 0;
    for (GpuServer server : edge.gpuServers()) {
      for (GpuGroup g : server.gpus()) {
        sum += g.usableMemory().bytes() * g.count();
      }
    }
    return sum;
  }

  private static Node node(String pool, GpuServer server) {
    List<GpuSpec> gpus = new ArrayList<>();
    int index = 0;
    for (GpuGroup group : server.gpus()) {
      for (int i = 0; i < group.count(); i++) {
        gpus.add(new GpuSpec(index, server.name() + "-gpu" + index, group.model().label(),
            group.memory().bytes(), "sim", group.reserve().bytes()));
        index++;
      }
    }
    return new Node(server.name(), server.host() + ":" + server.nodePort(), pool, gpus, NodeState.UP, 1,
        Instant.EPOCH, Instant.EPOCH);
  }

  /** Departures sort before arrivals at the same instant, so a freed card can be reused at once. */
  private record Event(double time, int kind, int session) {
    static final int DEPART = 0;
    static final int ARRIVE = 1;
    static final Comparator<Event> ORDER = Comparator.comparingDouble(Event::time)
        .thenComparingInt(Event::kind).thenComparingInt(Event::session);
  }

  /** One policy over one trace. */
  private final class Run {
    private final Policy policy;
    private final List<TraceSession> trace;
    private final List<String> edges;
    private final double windowStart;
    private final double windowEnd;
    private final Map<String, SlicePlacer> placers = new LinkedHashMap<>();
    private final long[] askedBytes = new long[cards.size()];
    private final int[] askedCompute = new int[cards.size()];
    private final int[] sessionsOn = new int[cards.size()];
    private final int[] cardOf;
    private final SessionOutcome[] outcomes;
    private int concurrent;
    private int peak;
    private double fragmentationSum;
    private int edgeRejections;
    private int rejectedWithRoom;

    Run(Policy policy, List<TraceSession> trace, List<String> edges, double windowStart, double windowEnd) {
      this.policy = policy;
      this.trace = trace;
      this.edges = edges;
      this.windowStart = windowStart;
      this.windowEnd = windowEnd;
      this.cardOf = new int[trace.size()];
      this.outcomes = new SessionOutcome[trace.size()];
      for (Edge edge : topology.edges()) {
        SlicePlacer placer = new SlicePlacer(TenantQuotas.unlimited());
        edge.gpuServers().forEach(s -> placer.onNodeUp(node("edge/" + edge.name(), s)));
        placers.put(edge.name(), placer);
      }
      SlicePlacer center = new SlicePlacer(TenantQuotas.unlimited());
      topology.center().gpuServers().forEach(s -> center.onNodeUp(node(CENTER, s)));
      placers.put(CENTER, center);
    }

    PolicyResult run() {
      PriorityQueue<Event> queue = new PriorityQueue<>(Event.ORDER);
      for (int i = 0; i < trace.size(); i++) {
        queue.add(new Event(trace.get(i).arrivalSeconds(), Event.ARRIVE, i));
      }
      List<Sample> samples = new ArrayList<>();
      double windowConcurrent = 0;
      double windowMemory = 0;
      double windowCompute = 0;
      double windowBusy = 0;
      int windowSamples = 0;
      double sampleEnd = windowEnd + DRAIN_SAMPLED_SECONDS;
      for (long k = 0; ; k++) {
        double t = k * stepSeconds;
        if (t > sampleEnd) {
          t = Double.POSITIVE_INFINITY; // the rest of the drain: play it out, unsampled
        }
        while (!queue.isEmpty() && queue.peek().time() <= t) {
          Event e = queue.poll();
          if (e.kind() == Event.ARRIVE) {
            if (arrive(e.session())) {
              queue.add(new Event(trace.get(e.session()).departureSeconds(), Event.DEPART, e.session()));
            }
          } else {
            depart(e.session());
          }
        }
        if (t == Double.POSITIVE_INFINITY) {
          break;
        }
        Sample sample = sample(t);
        samples.add(sample);
        if (t >= windowStart && t <= windowEnd) {
          windowConcurrent += sample.concurrent();
          windowMemory += sample.busyMemoryUtilization();
          windowCompute += sample.busyComputeUtilization();
          windowBusy += sample.busyCards();
          windowSamples++;
        }
        if (queue.isEmpty()) {
          break;
        }
      }
      int admitted = 0;
      int spilled = 0;
      for (SessionOutcome o : outcomes) {
        admitted += o.placed() ? 1 : 0;
        spilled += o.status() == SessionOutcome.Status.SPILLED ? 1 : 0;
      }
      int n = Math.max(1, windowSamples);
      return new PolicyResult(policy, trace.size(), admitted, spilled, trace.size() - admitted, peak,
          windowConcurrent / n, windowMemory / n, windowCompute / n, windowBusy / n,
          edgeRejections == 0 ? Double.NaN : fragmentationSum / edgeRejections,
          edgeRejections == 0 ? Double.NaN : rejectedWithRoom / (double) edgeRejections, edgeRejections,
          samples, List.of(outcomes));
    }

    /** Places session {@code i}; true if it got a slice. */
    private boolean arrive(int i) {
      TraceSession s = trace.get(i);
      String edge = edges.get(i);
      SliceRequest request = request(s);
      SessionId id = SessionId.of("s" + i);
      Placement atEdge = placers.get(edge).place(id, request);
      if (atEdge instanceof Placement.Placed placed) {
        admit(i, edge, placed, SessionOutcome.Status.ADMITTED);
        return true;
      }
      recordFragmentation(placers.get(edge), request);
      Placement.Rejected rejected = (Placement.Rejected) atEdge;
      if (policy.spill()) {
        Placement atCenter = placers.get(CENTER).place(id, request);
        if (atCenter instanceof Placement.Placed placed) {
          admit(i, CENTER, placed, SessionOutcome.Status.SPILLED);
          return true;
        }
        rejected = (Placement.Rejected) atCenter;
      }
      outcomes[i] = new SessionOutcome(i, s.origin(), edge, SessionOutcome.Status.REJECTED, null, null, -1,
          rejected.message());
      return false;
    }

    private SliceRequest request(TraceSession s) {
      SliceRequest.Builder b = SliceRequest.builder(s.tenant()).models(s.models().toArray(String[]::new));
      if (policy.packing() == Policy.Packing.ONE_PER_CARD) {
        return b.memoryPercent(100).computePercent(100).strategy(PlacementStrategy.BINPACK).build();
      }
      return b.memoryBytes(s.memoryBytes()).computePercent(s.computePercent())
          .strategy(policy.packing() == Policy.Packing.SPREAD ? PlacementStrategy.SPREAD : PlacementStrategy.BINPACK)
          .build();
    }

    private void admit(int i, String pool, Placement.Placed placed, SessionOutcome.Status status) {
      TraceSession s = trace.get(i);
      Slice slice = placed.slices().get(0);
      int card = cardIndex.get(pool + "/" + slice.nodeId() + "/" + slice.gpuIndex());
      cardOf[i] = card;
      askedBytes[card] += s.memoryBytes();
      askedCompute[card] += s.computePercent();
      sessionsOn[card]++;
      concurrent++;
      peak = Math.max(peak, concurrent);
      outcomes[i] = new SessionOutcome(i, s.origin(), edges.get(i), status, pool, slice.nodeId(),
          slice.gpuIndex(), null);
    }

    private void depart(int i) {
      SessionOutcome o = outcomes[i];
      placers.get(o.pool()).release(SessionId.of("s" + i)).orElseThrow();
      TraceSession s = trace.get(i);
      int card = cardOf[i];
      askedBytes[card] -= s.memoryBytes();
      askedCompute[card] -= s.computePercent();
      sessionsOn[card]--;
      concurrent--;
    }

    private void recordFragmentation(SlicePlacer placer, SliceRequest request) {
      long usable = 0;
      long free = 0;
      long stranded = 0;
      long largestAsk = 0;
      for (GpuView gpu : placer.snapshot().gpus()) {
        if (gpu.nodeState() != NodeState.UP || !request.accepts(gpu.model())) {
          continue;
        }
        long ask = request.memory().bytesOn(gpu.memoryLimitBytes());
        largestAsk = Math.max(largestAsk, ask);
        usable += gpu.memoryLimitBytes();
        free += gpu.memoryFreeBytes();
        if (gpu.memoryFreeBytes() < ask || gpu.computeFreePercent() < request.computePercent()) {
          stranded += gpu.memoryFreeBytes();
        }
      }
      if (usable == 0) {
        return; // no card of a model it accepts: not a packing question
      }
      edgeRejections++;
      fragmentationSum += stranded / (double) usable;
      if (free >= largestAsk) {
        rejectedWithRoom++;
      }
    }

    private Sample sample(double t) {
      float[] memory = new float[cards.size()];
      float[] compute = new float[cards.size()];
      long busyAsked = 0;
      long busyLimit = 0;
      long busyCompute = 0;
      int busy = 0;
      for (int c = 0; c < cards.size(); c++) {
        long limit = cards.get(c).limitBytes();
        memory[c] = (float) (askedBytes[c] / (double) limit);
        compute[c] = askedCompute[c] / 100f;
        if (sessionsOn[c] > 0) {
          busy++;
          busyAsked += askedBytes[c];
          busyLimit += limit;
          busyCompute += askedCompute[c];
        }
      }
      return new Sample(t, concurrent, busy, busyLimit == 0 ? 0 : busyAsked / (double) busyLimit,
          busy == 0 ? 0 : busyCompute / (100.0 * busy), memory, compute);
    }
  }
}
