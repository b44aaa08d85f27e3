package io.spillway.metrics;

import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.spillway.pool.session.GatewayListener;
import io.spillway.pool.session.SessionInfo;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Turns the core's forwarding callbacks into per-tenant counters and a latency histogram.
 *
 * <p>The callbacks run on transport threads for every frame, so each tenant's meters are looked up once
 * and kept; after that a callback is a map lookup and a few atomic adds. Labels are the tenant (and the
 * direction, or the status code of a refusal: both small fixed sets), never a session or a node, so the
 * series count grows with tenants only.
 */
final class ForwardingMetrics implements GatewayListener {

  /**
   * Fixed buckets of the answer histogram, from a loopback round trip (~100 µs) to a long kernel: few
   * enough per tenant to keep a scrape small, fine enough for p50/p99 per tenant.
   */
  private static final Duration[] ANSWER_BUCKETS = {
      Duration.ofNanos(100_000), Duration.ofNanos(200_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
      Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
      Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
      Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10),
      Duration.ofSeconds(30), Duration.ofSeconds(60)};

  private final MeterRegistry registry;
  private final Consumer<String> tenantSeen;
  private final Map<String, TenantMeters> tenants = new ConcurrentHashMap<>();

  /**
   * @param tenantSeen told about every tenant that opens a session, so that its pool gauges exist
   */
  ForwardingMetrics(MeterRegistry registry, Consumer<String> tenantSeen) {
    this.registry = registry;
    this.tenantSeen = tenantSeen;
  }

  private record TenantMeters(Counter opened, Counter ops, Counter bytesUp, Counter bytesDown,
      Counter errors, Timer answers) {}

  private TenantMeters meters(String tenant) {
    return tenants.computeIfAbsent(tenant, t -> new TenantMeters(
        Counter.builder("spillway.sessions.opened").description("Sessions opened through the gateway")
            .tag("tenant", t).register(registry),
        Counter.builder("spillway.forwarded.ops").description("Ops forwarded from clients to nodes")
            .tag("tenant", t).register(registry),
        bytes(t, "up"),
        bytes(t, "down"),
        Counter.builder("spillway.error.replies").description("Error replies forwarded from nodes to clients")
            .tag("tenant", t).register(registry),
        Timer.builder("spillway.answer.latency")
            .description("Time from forwarding a synchronizing op (read, synchronize, close) to its answer")
            .tag("tenant", t)
            .serviceLevelObjectives(ANSWER_BUCKETS)
            .register(registry)));
  }

  private Counter bytes(String tenant, String direction) {
    return Counter.builder("spillway.forwarded.bytes").baseUnit("bytes")
        .description("Frame bytes forwarded: up is client to node, down is node to client")
        .tags("tenant", tenant, "direction", direction).register(registry);
  }

  @Override
  public void sessionOpened(SessionInfo session) {
    tenantSeen.accept(session.tenant());
    meters(session.tenant()).opened().increment();
  }

  @Override
  public void sessionClosed(SessionInfo session, Status status) {
    Counter.builder("spillway.sessions.closed").description("Sessions ended, by final gRPC status code")
        .tags("tenant", session.tenant(), "code", status.getCode().name()).register(registry).increment();
  }

  @Override
  public void openRefused(String tenant, Status.Code code) {
    Counter.builder("spillway.open.refusals")
        .description("Opens refused by the gateway before reaching a node, by gRPC status code")
        .tags("tenant", tenant, "code", code.name()).register(registry).increment();
  }

  @Override
  public void spilled(String tenant) {
    Counter.builder("spillway.spilled.sessions")
        .description("Sessions the local pool could not take, opened on the center under a lease")
        .tag("tenant", tenant).register(registry).increment();
  }

  @Override
  public void forwardedUp(String tenant, int ops, long bytes) {
    TenantMeters m = meters(tenant);
    m.ops().increment(ops);
    m.bytesUp().increment(bytes);
  }

  @Override
  public void forwardedDown(String tenant, int replies, long bytes, int errors) {
    TenantMeters m = meters(tenant);
    m.bytesDown().increment(bytes);
    if (errors > 0) {
      m.errors().increment(errors);
    }
  }

  @Override
  public void answered(String tenant, long nanos) {
    meters(tenant).answers().record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void sessionReplayed(String tenant, long gapNanos) {
    Timer.builder("spillway.session.replays")
        .description("Sessions rebuilt on another slice after losing theirs, and the gap from the loss to the"
            + " rebuilt session's open")
        .tag("tenant", tenant)
        .serviceLevelObjectives(ANSWER_BUCKETS)
        .register(registry).record(gapNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void replayFailed(String tenant, String reason) {
    Counter.builder("spillway.session.replay.failures")
        .description("Sessions that lost their slice and could not be rebuilt (they ended)")
        .tag("tenant", tenant).register(registry).increment();
  }

  @Override
  public void failedBack(String tenant) {
    Counter.builder("spillway.session.failbacks")
        .description("Spilled sessions moved back to the local pool under the failback policy")
        .tag("tenant", tenant).register(registry).increment();
  }
}
