package io.spillway.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.spillway.federation.GuardedSpillTarget;
import io.spillway.lease.KafkaTimeouts;
import io.spillway.lease.LeaseConfig;
import io.spillway.pool.config.FailoverConfig;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The new {@code spillway.edge.*} keys (center replicas, fault tolerance, failover) through the real
 * SmallRye mapping, without starting the app: their defaults, how they map, and the errors that name
 * the key.
 */
class EdgeConfigMappingTest {

  static EdgeConfig config(Map<String, String> properties) {
    SmallRyeConfig config = new SmallRyeConfigBuilder()
        .withMapping(EdgeConfig.class)
        .withConverter(MemorySize.class, 100, new MemorySizeConverter())
        .withConverter(Duration.class, 100, new DurationConverter())
        .withSources(new PropertiesConfigSource(properties, "test", 500))
        .build();
    return config.getConfigMapping(EdgeConfig.class);
  }

  static Map<String, String> spilling(String... more) {
    Map<String, String> p = new HashMap<>();
    p.put("spillway.edge.spill.enabled", "true");
    p.put("spillway.edge.spill.kafka-bootstrap", "kafka:9092");
    p.put("spillway.edge.spill.center", "center-a:7071");
    for (int i = 0; i < more.length; i += 2) {
      p.put(more[i], more[i + 1]);
    }
    return p;
  }

  @Test
  void failoverDefaultsAreTheCoresDefaults() {
    assertEquals(FailoverConfig.defaults(), EdgeGateway.failoverConfig(config(Map.of())));
  }

  @Test
  void failoverKeysMapOntoTheCore() {
    FailoverConfig f = EdgeGateway.failoverConfig(config(Map.of(
        "spillway.edge.failover.journal", "false",
        "spillway.edge.failover.max-session-journal", "64M",
        "spillway.edge.failover.max-gateway-journal", "1G",
        "spillway.edge.failover.replay-deadline", "12s",
        "spillway.edge.failover.failback-interval", "250ms",
        "spillway.edge.failback", "when-idle")));
    assertEquals(new FailoverConfig(false, 64L << 20, 1L << 30, Duration.ofSeconds(12),
        FailoverConfig.Failback.WHEN_IDLE, Duration.ofMillis(250)), f);
    assertEquals(FailoverConfig.Failback.IMMEDIATE,
        EdgeGateway.failoverConfig(config(Map.of("spillway.edge.failback", "immediate"))).failback());
  }

  @Test
  void failoverErrorsNameTheKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.failoverConfig(
        config(Map.of("spillway.edge.failover.replay-deadline", "0s"))));
    assertTrue(e.getMessage().startsWith("spillway.edge.failover.replay-deadline is PT0S"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.failoverConfig(config(Map.of(
        "spillway.edge.failover.max-session-journal", "1G",
        "spillway.edge.failover.max-gateway-journal", "512M"))));
    assertTrue(e.getMessage().startsWith("spillway.edge.failover.max-gateway-journal is 536870912 bytes"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.failoverConfig(
        config(Map.of("spillway.edge.failover.failback-interval", "-1s"))));
    assertTrue(e.getMessage().startsWith("spillway.edge.failover.failback-interval is"), e.getMessage());
    RuntimeException bad = assertThrows(RuntimeException.class,
        () -> config(Map.of("spillway.edge.failback", "sometimes")));
    assertTrue(bad.getMessage().contains("spillway.edge.failback"), bad.getMessage());
  }

  @Test
  void centersAreACommaSeparatedListOfHostPorts() {
    assertEquals(List.of("a:7071"), EdgeGateway.centers(Optional.of("a:7071")));
    assertEquals(List.of("a:7071", "b:7071", "10.0.0.3:7072"),
        EdgeGateway.centers(Optional.of("a:7071, b:7071,10.0.0.3:7072")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EdgeGateway.centers(Optional.of("a:7071,b")));
    assertTrue(e.getMessage().startsWith("spillway.edge.spill.center is a:7071,b; 'b' is not host:port"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.centers(Optional.of("a:7071,,b:1")));
    assertTrue(e.getMessage().contains("'' is not host:port"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.centers(Optional.of("a:70710")));
    assertTrue(e.getMessage().contains("'a:70710' is not host:port"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.centers(Optional.of("a:1,a:1")));
    assertTrue(e.getMessage().contains("names a:1 twice"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.centers(Optional.empty()));
    assertTrue(e.getMessage().startsWith("spillway.edge.spill.center is not set"), e.getMessage());
  }

  @Test
  void spillSettingsCheckTheCenterList() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.spillSettings(
        config(spilling("spillway.edge.spill.center", "a:7071;b:7071")).spill()));
    assertTrue(e.getMessage().startsWith("spillway.edge.spill.center is a:7071;b:7071"), e.getMessage());
  }

  @Test
  void faultToleranceDefaultsAndTheTimeoutFollowingTheGrantTimeout() {
    GuardedSpillTarget.Policy p = EdgeGateway.faultTolerance(
        config(spilling("spillway.edge.spill.grant-timeout", "7s")).spill());
    assertEquals(new GuardedSpillTarget.Policy(Duration.ofSeconds(7), 2, Duration.ofMillis(200), 2,
        Duration.ofSeconds(2), Duration.ofMillis(100), 10, 0.5, Duration.ofSeconds(10), 1, 8), p);
  }

  @Test
  void faultToleranceKeysMapOntoThePolicy() {
    GuardedSpillTarget.Policy p = EdgeGateway.faultTolerance(config(spilling(
        "spillway.edge.spill.fault-tolerance.timeout", "3s",
        "spillway.edge.spill.fault-tolerance.retry.max-retries", "5",
        "spillway.edge.spill.fault-tolerance.retry.delay", "50ms",
        "spillway.edge.spill.fault-tolerance.retry.factor", "3",
        "spillway.edge.spill.fault-tolerance.retry.max-delay", "1s",
        "spillway.edge.spill.fault-tolerance.retry.jitter", "10ms",
        "spillway.edge.spill.fault-tolerance.circuit-breaker.request-volume-threshold", "20",
        "spillway.edge.spill.fault-tolerance.circuit-breaker.failure-ratio", "0.75",
        "spillway.edge.spill.fault-tolerance.circuit-breaker.delay", "30s",
        "spillway.edge.spill.fault-tolerance.circuit-breaker.success-threshold", "2",
        "spillway.edge.spill.fault-tolerance.bulkhead.per-tenant", "3")).spill());
    assertEquals(new GuardedSpillTarget.Policy(Duration.ofSeconds(3), 5, Duration.ofMillis(50), 3,
        Duration.ofSeconds(1), Duration.ofMillis(10), 20, 0.75, Duration.ofSeconds(30), 2, 3), p);
  }

  @Test
  void faultToleranceErrorsNameTheKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.spillSettings(
        config(spilling("spillway.edge.spill.fault-tolerance.retry.max-retries", "-1")).spill()));
    assertTrue(e.getMessage().startsWith("spillway.edge.spill.fault-tolerance.retry.max-retries is -1"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.spillSettings(
        config(spilling("spillway.edge.spill.fault-tolerance.circuit-breaker.delay", "0s")).spill()));
    assertTrue(e.getMessage().startsWith("spillway.edge.spill.fault-tolerance.circuit-breaker.delay is PT0S"),
        e.getMessage());
  }

  @Test
  void leaseTimingDefaultsAreTheSharedOnesAndKafkaCallsAreBounded() {
    LeaseConfig timings = EdgeGateway.spillSettings(config(spilling()).spill());
    assertEquals(LeaseConfig.defaults().leaseDuration(), timings.leaseDuration());
    assertEquals(LeaseConfig.defaults().skewMargin(), timings.skewMargin());
    assertEquals(KafkaTimeouts.defaults(), timings.kafka());
    assertEquals(Optional.empty(), config(spilling()).spill().renewInterval());
  }

  @Test
  void renewIntervalAndKafkaTimeoutsMapAndBadValuesNameTheirKeys() {
    EdgeConfig c = config(spilling("spillway.edge.spill.renew-interval", "10s",
        "spillway.edge.spill.kafka.max-block", "2s"));
    assertEquals(Optional.of(Duration.ofSeconds(10)), c.spill().renewInterval());
    assertEquals(Duration.ofSeconds(2), EdgeGateway.spillSettings(c.spill()).kafka().maxBlock());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.spillSettings(
        config(spilling("spillway.edge.spill.kafka.delivery-timeout", "1s")).spill()));
    assertEquals("spillway.edge.spill.kafka.delivery-timeout is PT1S; it must be at least "
        + "spillway.edge.spill.kafka.request-timeout (PT5S)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> EdgeGateway.spillSettings(
        config(spilling("spillway.edge.spill.skew-margin", "30s")).spill()));
    assertTrue(e.getMessage().startsWith("spillway.edge.spill.skew-margin is PT30S; it must be >= 0 and shorter "
        + "than spillway.edge.spill.lease-duration (PT30S)"), e.getMessage());
  }
}
