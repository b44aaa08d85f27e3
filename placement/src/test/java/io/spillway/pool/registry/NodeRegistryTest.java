package io.spillway.pool.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.pool.model.GpuSpec;
import io.spillway.pool.time.ManualClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NodeRegistryTest {
  private static final long GIB = 1L << 30;

  private final ManualClock clock = ManualClock.atEpochOf2025();
  private final NodeRegistry registry = new NodeRegistry(Duration.ofSeconds(10), clock);
  private final List<String> events = new ArrayList<>();
  private final NodeListener recorder = new NodeListener() {
    @Override
    public void onNodeUp(Node node) {
      events.add("up " + node.id() + " gen " + node.generation());
    }

    @Override
    public void onNodeDown(Node node, String reason) {
      events.add("down " + node.id() + " " + node.state() + ": " + reason);
    }
  };

  private static NodeRegistration node(String id, int gpus) {
    List<GpuSpec> specs = new ArrayList<>();
    for (int i = gpus - 1; i >= 0; i--) {   // listed out of order on purpose
      specs.add(new GpuSpec(i, id + "-" + i, "V100", 32 * GIB, "7.0", GIB));
    }
    return new NodeRegistration(id, "10.0.0.1:7000", "edge-1", specs);
  }

  @Test
  void livenessUsesTheInjectedClock() {
    registry.addListener(recorder);
    registry.register(node("a", 2));
    registry.register(node("b", 2));
    clock.advance(Duration.ofSeconds(6));
    assertInstanceOf(HeartbeatResult.Accepted.class, registry.heartbeat("b"));
    clock.advance(Duration.ofSeconds(4));
    assertEquals(List.of(), registry.checkLiveness(), "exactly at the timeout a node is still up");
    clock.advance(Duration.ofMillis(1));
    List<Node> down = registry.checkLiveness();
    assertEquals(List.of("a"), down.stream().map(Node::id).toList());
    assertEquals(NodeState.DOWN, registry.node("a").orElseThrow().state());
    assertEquals(NodeState.UP, registry.node("b").orElseThrow().state());
    assertEquals(List.of("up a gen 1", "up b gen 1",
        "down a DOWN: node a sent no heartbeat for 10.0s (timeout 10s)"), events);
    assertEquals(List.of(), registry.checkLiveness(), "a down node is not reported twice");
    clock.advance(Duration.ofSeconds(10));
    assertEquals(List.of("b"), registry.checkLiveness().stream().map(Node::id).toList());
  }

  @Test
  void heartbeatFromUnknownOrDownNodeSaysRegisterFirst() {
    HeartbeatResult.RegisterFirst unknown =
        assertInstanceOf(HeartbeatResult.RegisterFirst.class, registry.heartbeat("ghost"));
    assertEquals("node ghost is not registered with this gateway; send a registration before heartbeats",
        unknown.message());
    registry.register(node("a", 1));
    registry.markDown("a", "test");
    assertInstanceOf(HeartbeatResult.RegisterFirst.class, registry.heartbeat("a"));
    assertTrue(registry.markDown("a", "again").isEmpty(), "already down");
  }

  @Test
  void registrationOutcomesAndGenerations() {
    registry.addListener(recorder);
    Registration first = registry.register(node("a", 2));
    assertEquals(Registration.Outcome.JOINED, first.outcome());
    assertEquals(List.of(0, 1), first.node().gpus().stream().map(GpuSpec::index).toList());
    clock.advance(Duration.ofSeconds(3));
    Registration refresh = registry.register(node("a", 2));
    assertEquals(Registration.Outcome.REFRESHED, refresh.outcome());
    assertEquals(clock.instant(), refresh.node().lastHeartbeat());
    assertEquals(1, refresh.node().generation());
    Registration replaced = registry.register(node("a", 3));
    assertEquals(Registration.Outcome.REPLACED, replaced.outcome());
    assertEquals(2, replaced.node().generation());
    registry.markDown("a", "link lost");
    Registration rejoined = registry.register(node("a", 3));
    assertEquals(Registration.Outcome.REJOINED, rejoined.outcome());
    assertEquals(3, rejoined.node().generation());
    assertEquals(List.of("up a gen 1",
        "down a DOWN: node a registered again with a different GPU set (2 -> 3 GPUs); its earlier registration is replaced",
        "up a gen 2", "down a DOWN: link lost", "up a gen 3"), events);
  }

  @Test
  void aLateListenerIsToldOfNodesAlreadyUp() {
    registry.register(node("a", 1));
    registry.register(node("b", 1));
    registry.markDown("b", "gone");
    registry.addListener(recorder);
    assertEquals(List.of("up a gen 1"), events);
  }

  @Test
  void aFailingListenerDoesNotStopTheOthers() {
    registry.addListener(new NodeListener() {
      @Override
      public void onNodeUp(Node node) {
        throw new IllegalStateException("boom");
      }
    });
    registry.addListener(recorder);
    registry.register(node("a", 1));
    assertEquals(List.of("up a gen 1"), events);
    assertEquals(NodeState.UP, registry.node("a").orElseThrow().state());
  }

  @Test
  void invalidRegistrationsNameTheProblem() {
    GpuSpec g = new GpuSpec(0, "u0", "V100", GIB, "7.0", 0);
    assertEquals("node a: address 'nohost' is invalid: expected host:port",
        assertThrows(IllegalArgumentException.class,
            () -> new NodeRegistration("a", "nohost", "p", List.of(g))).getMessage());
    assertEquals("node a: address 'h:99999' is invalid: port must be in 1..65535",
        assertThrows(IllegalArgumentException.class,
            () -> new NodeRegistration("a", "h:99999", "p", List.of(g))).getMessage());
    assertEquals("node a: gpu index 0 listed twice",
        assertThrows(IllegalArgumentException.class, () -> new NodeRegistration("a", "h:1", "p",
            List.of(g, new GpuSpec(0, "u1", "V100", GIB, "7.0", 0)))).getMessage());
    assertEquals("node a registered no GPUs; expected at least one",
        assertThrows(IllegalArgumentException.class,
            () -> new NodeRegistration("a", "h:1", "p", List.of())).getMessage());
    assertEquals("gpu 0 (u0): memoryReserveBytes must be in [0, 1073741824), got 1073741824",
        assertThrows(IllegalArgumentException.class,
            () -> new GpuSpec(0, "u0", "V100", GIB, "7.0", GIB)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> new NodeRegistry(Duration.ZERO, clock));
    assertEquals(Instant.parse("2025-01-01T00:00:00Z"), clock.instant());
  }
}
