package io.spillway.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.registry.NodeRegistry;
import io.spillway.pool.session.GatewayListener;
import java.util.ArrayList;
import java.util.List;

/**
 * A gateway's Prometheus metrics, shared by the edge and center apps: forwarding counters from the
 * core's {@link GatewayListener}, and gauges per card and per tenant from its placer. See
 * docs/metrics.md.
 *
 * <p>The core needs the listener when it is built and the gauges need the core's placer, so the
 * metrics are made in two steps: {@link #listener()} for the core, then {@link #attach} once it exists.
 */
public final class GatewayMetrics {

  private final MeterRegistry registry;
  private final ForwardingMetrics forwarding;
  private final List<String> tenantsBeforeAttach = new ArrayList<>();
  private PoolMetrics pool;

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.forwarding = new ForwardingMetrics(registry, this::watchTenant);
  }

  /** What the gateway core reports to. */
  public GatewayListener listener() {
    return forwarding;
  }

  /** Starts the per-card and per-tenant gauges over the core's registry and placer. */
  public synchronized void attach(NodeRegistry nodes, SlicePlacer placer) {
    pool = new PoolMetrics(registry, placer);
    nodes.addListener(pool);
    tenantsBeforeAttach.forEach(pool::watchTenant);
    tenantsBeforeAttach.clear();
  }

  /** A gauge of the bytes the session journals hold (edge gateways; {@code GatewayCore::journalBytes}). */
  public void watchJournal(java.util.function.LongSupplier bytes) {
    io.micrometer.core.instrument.Gauge.builder("spillway.journal.bytes", bytes, b -> (double) b.getAsLong())
        .baseUnit("bytes")
        .description("Bytes held by the session journals (modules, persistent buffers, ops since the last"
            + " synchronizing call) that let the gateway rebuild sessions on another slice")
        .register(registry);
  }

  /** Makes a tenant's gauges exist (from its first session, or ahead of it for configured tenants). */
  public synchronized void watchTenant(String tenant) {
    if (pool == null) {
      tenantsBeforeAttach.add(tenant);
    } else {
      pool.watchTenant(tenant);
    }
  }
}
