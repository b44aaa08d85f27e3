package io.spillway.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.spillway.pool.model.GpuSpec;
import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.placement.SessionView;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.registry.Node;
import io.spillway.pool.registry.NodeListener;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * Gauges of the pool: one series per card of every UP node, one per node, and one per tenant.
 *
 * <p><b>Cards come and go.</b> Nodes register after the gateway starts, so the card gauges are
 * registered when the registry reports a node up and removed when it reports the node down: a DOWN
 * node's cards have no capacity to offer, and a series that vanished is easier to read than a card at
 * zero that is not there. {@code spillway_node_up} stays, at 0, so the loss remains visible.
 *
 * <p><b>Values.</b> Every gauge reads one snapshot of the placer, taken at most once per
 * {@link #SNAPSHOT_TTL_NANOS}: a scrape evaluates all gauges within that window and pays for one
 * snapshot, not one per series.
 *
 * <p><b>Threading.</b> Node events arrive on the registry's thread under its lock, and only register or
 * remove meters here. Gauge functions take the placer's lock (via the snapshot) and never the
 * registry's, so a scrape can never wait on the registry while the registry waits on the meter
 * registry.
 */
final class PoolMetrics implements NodeListener {

  static final long SNAPSHOT_TTL_NANOS = 100_000_000L;

  private final MeterRegistry registry;
  private final SlicePlacer placer;
  /** The card meters of each UP node, by node id. */
  private final Map<String, List<Meter>> cardMeters = new ConcurrentHashMap<>();
  private final Map<String, Boolean> nodeUp = new ConcurrentHashMap<>();
  private final Set<String> tenants = ConcurrentHashMap.newKeySet();

  private record Cached(long takenAt, Map<String, GpuView> cards, Map<String, long[]> tenants) {}

  private volatile Cached cached;

  PoolMetrics(MeterRegistry registry, SlicePlacer placer) {
    this.registry = registry;
    this.placer = placer;
  }

  @Override
  public void onNodeUp(Node node) {
    removeCards(node.id());
    List<Meter> meters = new ArrayList<>();
    for (GpuSpec gpu : node.gpus()) {
      String key = cardKey(node.id(), gpu.uuid());
      Tags tags = Tags.of("node", node.id(), "gpu", gpu.uuid(), "model", gpu.model(), "pool", node.pool());
      meters.add(card("spillway.gpu.memory.allocated", "bytes", "Memory reserved by slices on the card",
          tags, key, GpuView::memoryAllocatedBytes));
      meters.add(card("spillway.gpu.memory.limit", "bytes",
          "Memory slices may add up to on the card: its memory less the node's reserve", tags, key,
          GpuView::memoryLimitBytes));
      meters.add(card("spillway.gpu.compute.allocated.ratio", null,
          "Share of the card's compute reserved by slices, 0 to 1", tags, key,
          g -> g.computeAllocatedPercent() / 100.0));
      meters.add(card("spillway.gpu.sessions", null, "Sessions holding a slice of the card", tags, key,
          GpuView::sessionCount));
    }
    cardMeters.put(node.id(), meters);
    if (nodeUp.put(node.id(), true) == null) {
      Gauge.builder("spillway.node.up", nodeUp, m -> m.getOrDefault(node.id(), false) ? 1 : 0)
          .strongReference(true)
          .description("1 while the node is registered and heartbeating, 0 once it is marked down")
          .tags("node", node.id(), "pool", node.pool())
          .register(registry);
    }
  }

  @Override
  public void onNodeDown(Node node, String reason) {
    nodeUp.put(node.id(), false);
    removeCards(node.id());
  }

  /** Makes sure the tenant has its gauges; tenants are never removed (their count bounds the series). */
  void watchTenant(String tenant) {
    if (!tenants.add(tenant)) {
      return;
    }
    Gauge.builder("spillway.tenant.sessions", this, m -> m.tenant(tenant)[0])
        .description("Sessions the tenant holds in the pool")
        .tag("tenant", tenant).strongReference(true).register(registry);
    Gauge.builder("spillway.tenant.memory", this, m -> m.tenant(tenant)[1]).baseUnit("bytes")
        .description("Device memory reserved by the tenant's slices")
        .tag("tenant", tenant).strongReference(true).register(registry);
  }

  private Meter card(String name, String unit, String help, Tags tags, String key,
      ToDoubleFunction<GpuView> value) {
    return Gauge.builder(name, this, m -> {
          GpuView gpu = m.snapshot().cards().get(key);
          return gpu == null ? Double.NaN : value.applyAsDouble(gpu);
        })
        .baseUnit(unit).description(help).tags(tags).strongReference(true)
        .register(registry);
  }

  private void removeCards(String nodeId) {
    List<Meter> old = cardMeters.remove(nodeId);
    if (old != null) {
      old.forEach(registry::remove);
    }
  }

  private long[] tenant(String tenant) {
    return snapshot().tenants().getOrDefault(tenant, new long[2]);
  }

  private Cached snapshot() {
    Cached c = cached;
    long now = System.nanoTime();
    if (c == null || now - c.takenAt() > SNAPSHOT_TTL_NANOS) {
      PoolSnapshot s = placer.snapshot();
      Map<String, GpuView> cards = new HashMap<>();
      for (GpuView gpu : s.gpus()) {
        cards.put(cardKey(gpu.nodeId(), gpu.uuid()), gpu);
      }
      Map<String, long[]> byTenant = new HashMap<>();
      for (SessionView session : s.sessions()) {
        long[] t = byTenant.computeIfAbsent(session.tenant(), k -> new long[2]);
        t[0]++;
        t[1] += session.memoryBytes();
      }
      c = new Cached(now, cards, byTenant);
      cached = c;
    }
    return c;
  }

  private static String cardKey(String nodeId, String uuid) {
    return nodeId + '\n' + uuid;
  }
}
