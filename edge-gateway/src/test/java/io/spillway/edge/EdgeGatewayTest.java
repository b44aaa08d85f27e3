package io.spillway.edge;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.registry.Node;
import io.spillway.testkit.Await;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import jakarta.inject.Inject;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The edge gateway app end to end: real GPU nodes (host driver) register over gRPC on loopback, the SDK
 * opens sessions through the gateway, and REST, health and metrics report what happened. The methods
 * run in order and share the nodes: the pool's story is one story (empty, busy, a node lost).
 */
@QuarkusTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EdgeGatewayTest {

  private static final long GIB = 1L << 30;
  private static final long MIB = 1L << 20;
  private static final Duration WAIT = Duration.ofSeconds(15);

  /** One sample line of the Prometheus text format: name, optional label set, value, optional timestamp. */
  private static final Pattern SAMPLE = Pattern.compile(
      "[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"(\\\\.|[^\"\\\\])*\",?)*\\})?"
          + " (-?[0-9.]+([eE][+-]?[0-9]+)?|NaN|\\+Inf|-Inf)( -?[0-9]+)?");

  @Inject
  GatewayCore core;

  private final List<AutoCloseable> started = new ArrayList<>();
  private GpuNodeServer p40Node;
  private GatewayRegistrar p40Registrar;

  @AfterAll
  void stopNodes() throws Exception {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).close();
    }
  }

  @Test
  @Order(1)
  void notReadyUntilANodeRegistersButLive() {
    given().get("/q/health/ready").then()
        .statusCode(503)
        .body("status", equalTo("DOWN"))
        .body("checks.find { it.name == 'spillway-pool' }.data.'nodes up'", equalTo(0));
    given().get("/q/health/live").then()
        .statusCode(200)
        .body("checks.find { it.name == 'spillway-grpc' }.data.address", equalTo(core.address()));
    given().get("/q/health/ready").then()
        .body("checks.find { it.name == 'spillway-center' }.status", equalTo("UP"))
        .body("checks.find { it.name == 'spillway-center' }.data.spilling", equalTo("off"));
    given().get("/pool").then().statusCode(200).body("spill", org.hamcrest.Matchers.nullValue());
  }

  @Test
  @Order(1)
  void failoverKeysReachTheCore() {
    // application.properties (test) sets replay-deadline=20s and max-session-journal=64M; the rest default.
    assertEquals(io.spillway.pool.config.FailoverConfig.defaults().withReplayDeadline(Duration.ofSeconds(20))
        .withBounds(64 * MIB, 4 * GIB), core.failoverConfig());
  }

  @Test
  @Order(2)
  void sessionsThroughTheGatewayShowInRestAndMetrics() throws Exception {
    startNode("node-v100", HostGpuDriver.withCards(2, "V100", 32 * GIB));
    startNode("node-p40", HostGpuDriver.withCards(2, "P40", 24 * GIB));
    p40Node = (GpuNodeServer) started.get(2);
    p40Registrar = (GatewayRegistrar) started.get(3);
    Await.until(WAIT, "both nodes up", () -> core.registry().nodes().stream().filter(Node::isUp).count() == 2);
    given().get("/q/health/ready").then().statusCode(200)
        .body("checks.find { it.name == 'spillway-pool' }.data.'nodes up'", equalTo(2));

    SpillwayClient client = SpillwayClient.connect(core.address());
    started.add(client);
    GpuSession acme = client.open(SliceRequest.builder().tenant("acme").clientName("mlp-test")
        .models("V100").memoryBytes(64 * MIB).build());
    GpuSession globex = client.open(SliceRequest.builder().tenant("globex").models("P40")
        .memoryBytes(GIB).build());
    assertEquals("P40", globex.devices().get(0).model());
    assertEquals("node-p40", globex.devices().get(0).node());
    assertEquals("node-v100", acme.devices().get(0).node());
    SpillwayException refused = assertThrows(SpillwayException.class, () -> client.open(
        SliceRequest.builder().tenant("acme").models("A100").memoryBytes(MIB).build()));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.code());

    MlpModel model = MlpModel.random(1, 16, 32, 4);
    MlpService mlp = new MlpService(acme, model, 8);
    for (int request = 0; request < 3; request++) {
      float[] x = model.randomInput(request, 8);
      float[] onGpu = mlp.infer(x, 8);
      float diff = MlpModel.maxAbsDiff(onGpu, model.forwardCpu(x, 8));
      assertTrue(diff < 1e-5, "request " + request + " through the gateway differs from the CPU by " + diff);
    }
    String acmeCard = acme.devices().get(0).gpuUuid();
    String globexCard = globex.devices().get(0).gpuUuid();

    JsonPath pool = given().get("/pool").then().statusCode(200).extract().jsonPath();
    assertEquals(4, pool.getList("gpus").size());
    assertEquals(4, pool.getInt("totals.cards"));
    assertEquals(4, pool.getInt("totals.cardsUp"));
    assertEquals(GIB, pool.getLong("gpus.find { it.uuid == '" + globexCard + "' }.memoryAllocatedBytes"));
    assertEquals(64 * MIB, pool.getLong("gpus.find { it.uuid == '" + acmeCard + "' }.memoryAllocatedBytes"));
    assertEquals(GIB + 64 * MIB, pool.getLong("gpus.collect { it.memoryAllocatedBytes as long }.sum()"));
    assertEquals(2 * 32 * GIB + 2 * 24 * GIB - GIB - 64 * MIB, pool.getLong("totals.memoryFreeBytes"));
    assertEquals(2, pool.getList("nodes").size());
    assertEquals(Set.of("acme", "globex"), Set.copyOf(pool.getList("sessions.tenant", String.class)));

    JsonPath sessions = given().get("/sessions").then().statusCode(200).extract().jsonPath();
    assertEquals(2, sessions.getList("$").size());
    assertEquals("mlp-test", sessions.getString("find { it.tenant == 'acme' }.client"));
    assertEquals(acme.sessionId(), sessions.getString("find { it.tenant == 'acme' }.id"));
    assertEquals("node-p40", sessions.getString("find { it.tenant == 'globex' }.node"));
    assertTrue(sessions.getLong("find { it.tenant == 'acme' }.ops") > 0);

    String metrics = scrape();
    String p40 = "node=\"node-p40\"";
    String globexGpu = "gpu=\"" + globexCard + "\"";
    assertEquals((double) GIB, value(metrics, "spillway_gpu_memory_allocated_bytes", p40, globexGpu,
        "model=\"P40\"", "pool=\"edge/test\""));
    assertEquals((double) 24 * GIB, value(metrics, "spillway_gpu_memory_limit_bytes", p40, globexGpu));
    assertEquals(1.0, value(metrics, "spillway_gpu_sessions", p40, globexGpu));
    assertEquals(0.0, value(metrics, "spillway_gpu_compute_allocated_ratio", p40, globexGpu));
    assertEquals(4, series(metrics, "spillway_gpu_memory_allocated_bytes").size());
    assertEquals(1.0, value(metrics, "spillway_tenant_sessions", "tenant=\"acme\""));
    assertEquals((double) GIB, value(metrics, "spillway_tenant_memory_bytes", "tenant=\"globex\""));
    assertTrue(value(metrics, "spillway_forwarded_ops_total", "tenant=\"acme\"") > 0);
    assertTrue(value(metrics, "spillway_forwarded_bytes_total", "tenant=\"acme\"", "direction=\"up\"")
        > 16 * 32 * 4, "the weights went up");
    assertTrue(value(metrics, "spillway_forwarded_bytes_total", "tenant=\"acme\"", "direction=\"down\"") > 0);
    assertEquals(1.0, value(metrics, "spillway_open_refusals_total", "tenant=\"acme\"",
        "code=\"RESOURCE_EXHAUSTED\""));
    assertTrue(value(metrics, "spillway_answer_latency_seconds_count", "tenant=\"acme\"") >= 3,
        "each inference ends with a read");
    assertFalse(series(metrics, "spillway_answer_latency_seconds_bucket").isEmpty());
    assertEquals(1.0, value(metrics, "spillway_node_up", p40));

    given().get("/q/openapi").then().statusCode(200)
        .body(containsString("/pool"))
        .body(containsString("/sessions"));

    acme.close();
    globex.close();
    Await.until(WAIT, "sessions closed", () -> core.sessions().isEmpty());
    given().get("/sessions").then().statusCode(200).body("size()", equalTo(0));
    Await.until(WAIT, "tenant gauge back to 0",
        () -> value(scrape(), "spillway_tenant_memory_bytes", "tenant=\"globex\"") == 0.0);
    assertEquals(1.0, value(scrape(), "spillway_sessions_closed_total", "tenant=\"acme\"", "code=\"OK\""));
  }

  @Test
  @Order(3)
  void aStoppedNodeLeavesThePoolAndItsCardSeries() {
    p40Registrar.close();
    p40Node.close();
    Await.until(WAIT, "node-p40 marked down", () -> core.registry().node("node-p40").map(n -> !n.isUp()).orElse(false));

    JsonPath pool = given().get("/pool").then().statusCode(200).extract().jsonPath();
    assertEquals(4, pool.getInt("totals.cards"), "a DOWN node's cards stay listed");
    assertEquals(2, pool.getInt("totals.cardsUp"));
    assertEquals(List.of("DOWN", "DOWN"),
        pool.getList("gpus.findAll { it.node == 'node-p40' }.nodeState", String.class));

    String metrics = scrape();
    assertEquals(2, series(metrics, "spillway_gpu_memory_allocated_bytes").size());
    assertTrue(series(metrics, "spillway_gpu_memory_allocated_bytes").stream()
        .noneMatch(s -> s.contains("node=\"node-p40\"")));
    assertEquals(0.0, value(metrics, "spillway_node_up", "node=\"node-p40\""));
    assertEquals(1.0, value(metrics, "spillway_node_up", "node=\"node-v100\""));
    given().get("/q/health/ready").then().statusCode(200);
  }

  private void startNode(String id, HostGpuDriver driver) throws IOException {
    GpuNode node = new GpuNode(new NodeOptions(id, "edge/test", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), driver);
    GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    started.add(server);
    started.add(new GatewayRegistrar(node, core.address(), "127.0.0.1:" + server.port(), 200).start());
  }

  /** Scrapes /q/metrics, checking the content type and that every sample line is well formed. */
  private static String scrape() {
    Response response = given().get("/q/metrics");
    assertEquals(200, response.statusCode());
    String type = response.contentType();
    assertTrue(type.startsWith("text/plain") || type.startsWith("application/openmetrics-text"), type);
    String body = response.asString();
    for (String line : body.split("\n")) {
      if (!line.isEmpty() && !line.startsWith("#")) {
        assertTrue(SAMPLE.matcher(line).matches(), "not a Prometheus sample line: " + line);
      }
    }
    return body;
  }

  /** The sample lines of one metric. */
  private static List<String> series(String metrics, String name) {
    return metrics.lines().filter(l -> l.startsWith(name + "{") || l.startsWith(name + " ")).toList();
  }

  /** The value of the one series of {@code name} whose labels include all of {@code labels}. */
  private static double value(String metrics, String name, String... labels) {
    List<String> matching = series(metrics, name).stream()
        .filter(l -> List.of(labels).stream().allMatch(l::contains))
        .toList();
    assertEquals(1, matching.size(), () -> "one series " + name + " with " + List.of(labels) + ", got "
        + (matching.isEmpty() ? series(metrics, name) : matching));
    Matcher m = Pattern.compile(" (\\S+)( -?[0-9]+)?$").matcher(matching.get(0));
    assertTrue(m.find(), matching.get(0));
    return Double.parseDouble(m.group(1));
  }
}
