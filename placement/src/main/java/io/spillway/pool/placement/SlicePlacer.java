package io.spillway.pool.placement;

import io.spillway.pool.model.GpuSpec;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.registry.Node;
import io.spillway.pool.registry.NodeListener;
import io.spillway.pool.registry.NodeState;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Places sessions on slices of the pool's live GPUs, and gives the capacity back on release.
 *
 * <p><b>Invariant.</b> On every card, at every moment observable from outside: the sum of its slices'
 * memory is at most {@link GpuSpec#memoryLimitBytes() memory less reserve}, and the sum of their compute
 * percent is at most 100. A session holds at most one slice per card.
 *
 * <p><b>Atomicity and threading.</b> One lock guards all state. {@link #place} takes it once and makes
 * the whole decision (quota check, choice of cards, commit) under it, so two racing placements can never
 * both take the last slice of a card; {@link #release}, node events and {@link #snapshot()} take the
 * same lock. A single lock is deliberate: a decision looks at every card, placement is microseconds of
 * arithmetic, and the rate of session opens is far below what one lock serves; per-card locks would
 * need ordered multi-card locking for multi-GPU requests and buy nothing measurable. All public methods
 * are thread-safe. Listeners are called after the lock is released.
 *
 * <p><b>Nodes.</b> The placer keeps its own table of cards, fed by the registry through
 * {@link NodeListener} ({@code registry.addListener(placer)}). It never calls the registry, so the lock
 * order is always registry then placer. A node that goes down keeps its cards in the table, marked DOWN
 * and empty, for {@link #snapshot()}; its slices are dropped and the sessions that held them are
 * reported to {@link PlacementListener}s (and stay here, with their other slices, until released). A
 * node that comes up gets fresh, empty cards.
 */
public final class SlicePlacer implements NodeListener {

  private static final System.Logger LOG = System.getLogger(SlicePlacer.class.getName());

  private final TenantQuotas quotas;
  private final List<PlacementListener> listeners = new CopyOnWriteArrayList<>();
  private final Object lock = new Object();

  // All guarded by lock.
  /** Cards by node id (sorted, for stable tie-breaks), each node's list sorted by GPU index. */
  private final Map<String, List<Card>> cardsByNode = new TreeMap<>();
  private final Map<SessionId, SessionRecord> sessions = new HashMap<>();
  private final Map<String, TenantUsage> tenants = new HashMap<>();

  public SlicePlacer(TenantQuotas quotas) {
    this.quotas = Objects.requireNonNull(quotas, "quotas");
  }

  public void addListener(PlacementListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  public void removeListener(PlacementListener listener) {
    listeners.remove(listener);
  }

  /**
   * Reserves one slice on each of {@code request.gpuCount()} distinct UP cards, atomically: either all
   * slices are reserved, or none is and the result says why.
   *
   * <p>Order of checks: duplicate session id, tenant session quota, model labels, capacity, tenant
   * memory quota (checked on the chosen cards, since a percent-of-card ask has its size only once the
   * cards are known).
   */
  public Placement place(SessionId sessionId, SliceRequest request) {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(request, "request");
    synchronized (lock) {
      if (sessions.containsKey(sessionId)) {
        return new Placement.Rejected(sessionId, Placement.Reason.DUPLICATE_SESSION,
            "session " + sessionId + " already holds slices; release it before placing it again");
      }
      String tenant = request.tenant();
      TenantQuota quota = Objects.requireNonNull(quotas.quotaFor(tenant), "quota for " + tenant);
      TenantUsage usage = tenants.getOrDefault(tenant, new TenantUsage());
      if (quota.maxSessions() > 0 && usage.sessions >= quota.maxSessions()) {
        return new Placement.Rejected(sessionId, Placement.Reason.QUOTA_EXCEEDED,
            "tenant " + tenant + " is at its quota of " + quota.maxSessions()
                + (quota.maxSessions() == 1 ? " session" : " sessions"));
      }

      List<Card> matching = new ArrayList<>();
      for (List<Card> cards : cardsByNode.values()) {
        for (Card card : cards) {
          if (card.state == NodeState.UP && request.accepts(card.spec.model())) {
            matching.add(card);
          }
        }
      }
      if (matching.isEmpty()) {
        return new Placement.Rejected(sessionId, Placement.Reason.NO_MATCHING_GPU,
            "no GPU " + request.describeLabels() + " is up: " + upModels());
      }

      List<Candidate> fitting = new ArrayList<>();
      for (Card card : matching) {
        long bytes = request.memory().bytesOn(card.limit());
        if (card.freeBytes() >= bytes && card.freeCompute() >= request.computePercent() && card.hasSessionRoom()) {
          fitting.add(new Candidate(card, bytes));
        }
      }
      List<Candidate> chosen = choose(fitting, request);
      if (chosen == null) {
        return new Placement.Rejected(sessionId, Placement.Reason.NO_CAPACITY,
            noCapacityMessage(request, matching, fitting.size()));
      }

      long total = chosen.stream().mapToLong(Candidate::bytes).sum();
      if (quota.maxMemoryBytes() > 0 && usage.memoryBytes + total > quota.maxMemoryBytes()) {
        return new Placement.Rejected(sessionId, Placement.Reason.QUOTA_EXCEEDED,
            "tenant " + tenant + " is at its memory quota of " + Sizes.bytes(quota.maxMemoryBytes())
                + ": it holds " + Sizes.bytes(usage.memoryBytes) + " and asked for "
                + Sizes.bytes(total) + " more");
      }

      SessionRecord session = new SessionRecord(sessionId, tenant);
      for (Candidate c : chosen) {
        Slice slice = c.card.add(sessionId, c.bytes, request.computePercent());
        session.slices.add(slice);
      }
      sessions.put(sessionId, session);
      usage.sessions++;
      usage.memoryBytes += total;
      tenants.put(tenant, usage);
      return new Placement.Placed(sessionId, tenant, session.slices);
    }
  }

  /**
   * Places a session on exactly the given cards and sizes, all or none: for state that was granted
   * before and is being rebuilt (a new lease leader replaying the lease log). Quotas are not checked
   * again; capacity is, so the invariant holds whatever the slices say.
   */
  public Placement restore(SessionId sessionId, String tenant, List<Slice> slices) {
    Objects.requireNonNull(sessionId, "sessionId");
    synchronized (lock) {
      if (sessions.containsKey(sessionId)) {
        return new Placement.Rejected(sessionId, Placement.Reason.DUPLICATE_SESSION,
            "session " + sessionId + " already holds slices; release it before restoring it");
      }
      List<Card> cards = new ArrayList<>();
      for (Slice s : slices) {
        Card card = card(s.nodeId(), s.gpuIndex());
        if (card == null || card.state != NodeState.UP || !card.spec.uuid().equals(s.gpuUuid())
            || cards.contains(card)) {
          return new Placement.Rejected(sessionId, Placement.Reason.NO_MATCHING_GPU,
              "cannot restore " + sessionId + ": card " + s + " is not up in this pool");
        }
        if (card.freeBytes() < s.memoryBytes() || card.freeCompute() < s.computePercent()) {
          return new Placement.Rejected(sessionId, Placement.Reason.NO_CAPACITY,
              "cannot restore " + sessionId + ": " + s + " does not fit what is free on that card");
        }
        cards.add(card);
      }
      SessionRecord session = new SessionRecord(sessionId, tenant);
      long total = 0;
      for (int i = 0; i < slices.size(); i++) {
        Slice s = slices.get(i);
        session.slices.add(cards.get(i).add(sessionId, s.memoryBytes(), s.computePercent()));
        total += s.memoryBytes();
      }
      sessions.put(sessionId, session);
      TenantUsage usage = tenants.getOrDefault(tenant, new TenantUsage());
      usage.sessions++;
      usage.memoryBytes += total;
      tenants.put(tenant, usage);
      return new Placement.Placed(sessionId, tenant, session.slices);
    }
  }

  /**
   * Returns a session's slices to the pool and forgets the session. Idempotent.
   *
   * @return the session as it was just before release, or empty if it was not placed
   */
  public Optional<SessionView> release(SessionId sessionId) {
    Objects.requireNonNull(sessionId, "sessionId");
    synchronized (lock) {
      SessionRecord session = sessions.remove(sessionId);
      if (session == null) {
        return Optional.empty();
      }
      SessionView view = session.view();
      for (Slice slice : session.slices) {
        Card card = card(slice.nodeId(), slice.gpuIndex());
        if (card != null) {
          card.remove(sessionId);
        }
      }
      TenantUsage usage = tenants.get(session.tenant);
      usage.sessions--;
      usage.memoryBytes -= view.memoryBytes();
      if (usage.sessions == 0) {
        tenants.remove(session.tenant);
      }
      return Optional.of(view);
    }
  }

  /** The sessions holding at least one slice on this node now (empty for a DOWN or unknown node). */
  public Set<SessionId> sessionsOn(String nodeId) {
    synchronized (lock) {
      Set<SessionId> out = new TreeSet<>();
      for (Card card : cardsByNode.getOrDefault(nodeId, List.of())) {
        out.addAll(card.slices.keySet());
      }
      return out;
    }
  }

  public Optional<SessionView> session(SessionId sessionId) {
    synchronized (lock) {
      return Optional.ofNullable(sessions.get(sessionId)).map(SessionRecord::view);
    }
  }

  /** Every card and every session at one instant. Cost is linear in cards and slices. */
  public PoolSnapshot snapshot() {
    synchronized (lock) {
      List<GpuView> gpus = new ArrayList<>();
      for (List<Card> cards : cardsByNode.values()) {
        for (Card card : cards) {
          gpus.add(card.view());
        }
      }
      List<SessionView> views = sessions.values().stream()
          .map(SessionRecord::view)
          .sorted(Comparator.comparing(SessionView::sessionId))
          .toList();
      return new PoolSnapshot(gpus, views);
    }
  }

  /** Replaces the node's cards with fresh, empty ones; slices still on old cards are dropped first. */
  @Override
  public void onNodeUp(Node node) {
    Set<SessionId> lost;
    synchronized (lock) {
      lost = dropSlices(node.id());
      List<Card> cards = new ArrayList<>();
      for (GpuSpec gpu : node.gpus()) {
        cards.add(new Card(node.id(), node.address(), node.pool(), gpu));
      }
      cardsByNode.put(node.id(), List.copyOf(cards));
    }
    fireLost(node.id(), lost, "node " + node.id() + " came up again with a fresh start");
  }

  /** Withdraws the node's cards and drops their slices; reports the affected sessions. */
  @Override
  public void onNodeDown(Node node, String reason) {
    dropNode(node.id(), reason);
  }

  /**
   * Withdraws a node's cards from placement and drops their slices. Called through
   * {@link #onNodeDown}; public for a gateway that wires the placer without a registry.
   *
   * @return the sessions that had slices there (also sent to the {@link PlacementListener}s)
   */
  public Set<SessionId> dropNode(String nodeId, String reason) {
    Set<SessionId> lost;
    synchronized (lock) {
      lost = dropSlices(nodeId);
      for (Card card : cardsByNode.getOrDefault(nodeId, List.of())) {
        card.state = NodeState.DOWN;
      }
    }
    fireLost(nodeId, lost, reason);
    return lost;
  }

  /** Caller holds lock. */
  private Set<SessionId> dropSlices(String nodeId) {
    Set<SessionId> lost = new TreeSet<>();
    for (Card card : cardsByNode.getOrDefault(nodeId, List.of())) {
      for (Map.Entry<SessionId, Slice> e : card.slices.entrySet()) {
        SessionRecord session = sessions.get(e.getKey());
        session.slices.remove(e.getValue());
        session.lostSlices++;
        tenants.get(session.tenant).memoryBytes -= e.getValue().memoryBytes();
        lost.add(e.getKey());
      }
      card.clear();
    }
    return lost;
  }

  private void fireLost(String nodeId, Set<SessionId> lost, String reason) {
    if (lost.isEmpty()) {
      return;
    }
    Set<SessionId> unmodifiable = Set.copyOf(lost);
    for (PlacementListener listener : listeners) {
      try {
        listener.onSlicesLost(nodeId, unmodifiable, reason);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "placement listener " + listener + " failed", e);
      }
    }
  }

  /** Picks {@code gpuCount} distinct cards from those that fit, or null if there are too few. */
  private static List<Candidate> choose(List<Candidate> fitting, SliceRequest request) {
    int n = request.gpuCount();
    if (fitting.size() < n) {
      return null;
    }
    Comparator<Candidate> order = request.strategy() == PlacementStrategy.BINPACK ? BINPACK : SPREAD;
    List<Candidate> ranked = new ArrayList<>(fitting);
    ranked.sort(order);
    if (n > 1 && request.sameNode()) {
      Map<String, List<Candidate>> byNode = new LinkedHashMap<>();
      for (Candidate c : ranked) {
        byNode.computeIfAbsent(c.card.nodeId, k -> new ArrayList<>()).add(c);
      }
      List<Candidate> best = null;
      for (List<Candidate> onNode : byNode.values()) {
        if (onNode.size() < n) {
          continue;
        }
        List<Candidate> set = onNode.subList(0, n);
        if (best == null || betterNodeSet(set, best, request.strategy())) {
          best = set;
        }
      }
      if (best != null) {
        return List.copyOf(best);
      }
    }
    return List.copyOf(ranked.subList(0, n));
  }

  /**
   * Between two one-node sets: BINPACK prefers less memory left free on the chosen cards, SPREAD more
   * memory free on them now; ties keep the earlier node (byNode is in ranked order, so the node with
   * the best single card wins a tie).
   */
  private static boolean betterNodeSet(
      List<Candidate> a, List<Candidate> b, PlacementStrategy strategy) {
    if (strategy == PlacementStrategy.BINPACK) {
      return sumFreeAfter(a) < sumFreeAfter(b);
    }
    return sumFree(a) > sumFree(b);
  }

  private static long sumFreeAfter(List<Candidate> set) {
    return set.stream().mapToLong(Candidate::freeAfter).sum();
  }

  private static long sumFree(List<Candidate> set) {
    return set.stream().mapToLong(c -> c.card.freeBytes()).sum();
  }

  private static final Comparator<Candidate> STABLE =
      Comparator.<Candidate, String>comparing(c -> c.card.nodeId).thenComparingInt(c -> c.card.spec.index());

  private static final Comparator<Candidate> BINPACK =
      Comparator.comparingLong(Candidate::freeAfter)
          .thenComparing(Comparator.comparingInt((Candidate c) -> c.card.computeAllocated).reversed())
          .thenComparing(STABLE);

  private static final Comparator<Candidate> SPREAD =
      Comparator.comparingLong((Candidate c) -> c.card.freeBytes()).reversed()
          .thenComparingInt(c -> c.card.computeAllocated)
          .thenComparing(STABLE);

  /** Caller holds lock. */
  private String noCapacityMessage(SliceRequest request, List<Card> matching, int fits) {
    Card largest = null;
    for (Card card : matching) {
      if (largest == null
          || card.freeBytes() > largest.freeBytes()
          || (card.freeBytes() == largest.freeBytes() && card.freeCompute() > largest.freeCompute())) {
        largest = card;
      }
    }
    long full = matching.stream().filter(c -> !c.hasSessionRoom()).count();
    String free = "largest free slice is " + Sizes.bytes(largest.freeBytes()) + " / "
        + largest.freeCompute() + "% on " + largest.nodeId + " gpu " + largest.spec.index()
        + "; " + matching.size() + (matching.size() == 1 ? " GPU matches" : " GPUs match")
        + " the labels" + (full == 0 ? "" : ", " + full + " of them at their node's max-sessions-per-card");
    if (request.gpuCount() == 1) {
      return "no GPU fits " + request.describeSlice() + " " + request.describeLabels() + ": " + free;
    }
    return "need " + request.gpuCount() + " GPUs with " + request.describeSlice() + " each "
        + request.describeLabels() + ", only " + fits + " fit" + (fits == 1 ? "s" : "") + ": " + free;
  }

  /** Caller holds lock. */
  private String upModels() {
    Map<String, Integer> counts = new TreeMap<>();
    for (List<Card> cards : cardsByNode.values()) {
      for (Card card : cards) {
        if (card.state == NodeState.UP) {
          counts.merge(card.spec.model(), 1, Integer::sum);
        }
      }
    }
    if (counts.isEmpty()) {
      return "no GPU is up in the pool";
    }
    List<String> parts = new ArrayList<>();
    counts.forEach((model, count) -> parts.add(model + " x" + count));
    return "the pool has " + parts + " up";
  }

  /** Caller holds lock. */
  private Card card(String nodeId, int gpuIndex) {
    for (Card card : cardsByNode.getOrDefault(nodeId, List.of())) {
      if (card.spec.index() == gpuIndex) {
        return card;
      }
    }
    return null;
  }

  private record Candidate(Card card, long bytes) {
    long freeAfter() {
      return card.freeBytes() - bytes;
    }
  }

  /** One card's bookkeeping. Mutable, guarded by the placer's lock. */
  private static final class Card {
    final String nodeId;
    final String address;
    final String pool;
    final GpuSpec spec;
    final CardCapacity capacity;
    NodeState state = NodeState.UP;
    long allocated;
    int computeAllocated;
    final Map<SessionId, Slice> slices = new LinkedHashMap<>();

    Card(String nodeId, String address, String pool, GpuSpec spec) {
      this.nodeId = nodeId;
      this.address = address;
      this.pool = pool;
      this.spec = spec;
      this.capacity = new CardCapacity(spec.memoryLimitBytes());
    }

    long limit() {
      return spec.memoryLimitBytes();
    }

    long freeBytes() {
      return capacity.freeBytes(allocated);
    }

    int freeCompute() {
      return capacity.freeCompute(computeAllocated);
    }

    /** False once the card holds as many sessions as its node lets it (the node would refuse one more). */
    boolean hasSessionRoom() {
      return spec.maxSessions() == 0 || slices.size() < spec.maxSessions();
    }

    Slice add(SessionId session, long bytes, int compute) {
      // place() checked the fit under the same lock, so this cannot fire; it guards the invariant
      // against a future bug there (failing loudly rather than overcommitting a card).
      if (state != NodeState.UP || !capacity.fits(allocated, computeAllocated, bytes, compute)
          || slices.containsKey(session)) {
        throw new IllegalStateException("slice " + Sizes.bytes(bytes) + " / " + compute
            + "% for " + session + " does not fit " + nodeId + " gpu " + spec.index());
      }
      Slice slice = new Slice(nodeId, address, spec.index(), spec.uuid(), spec.model(), bytes, compute);
      slices.put(session, slice);
      allocated += bytes;
      computeAllocated += compute;
      return slice;
    }

    void remove(SessionId session) {
      Slice slice = slices.remove(session);
      if (slice != null) {
        allocated -= slice.memoryBytes();
        computeAllocated -= slice.computePercent();
      }
    }

    void clear() {
      slices.clear();
      allocated = 0;
      computeAllocated = 0;
    }

    GpuView view() {
      return new GpuView(nodeId, address, pool, state, spec.index(), spec.uuid(), spec.model(),
          spec.computeCapability(), spec.memoryBytes(), spec.memoryReserveBytes(), allocated,
          computeAllocated, slices.size());
    }
  }

  private static final class SessionRecord {
    final SessionId id;
    final String tenant;
    final List<Slice> slices = new ArrayList<>();
    int lostSlices;

    SessionRecord(SessionId id, String tenant) {
      this.id = id;
      this.tenant = tenant;
    }

    SessionView view() {
      return new SessionView(id, tenant, slices, lostSlices);
    }
  }

  private static final class TenantUsage {
    int sessions;
    long memoryBytes;
  }
}
