package io.spillway.center;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseListener;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.testkit.Await;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The center gateway app against a real Kafka broker (embedded KRaft): a GPU node (host driver)
 * registers, the app joins the lease election and leads, two in-test edges ask for leases over Kafka,
 * and the admin API lists, revokes and rebalances them. The methods run in order and share the leases.
 */
@QuarkusTest
@WithTestResource(KafkaResource.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CenterGatewayTest {

  private static final long GIB = 1L << 30;
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Inject
  GatewayCore core;

  @ConfigProperty(name = "spillway.center.kafka-bootstrap")
  String bootstrap;

  private final List<AutoCloseable> started = new ArrayList<>();
  private LeaseClient edgeA;
  private LeaseClient edgeB;
  /** edge-a's leases in grant order: 4, 4, 2 and 2 GiB. */
  private final List<String> a = new ArrayList<>();
  private String b1;

  @AfterAll
  void stop() throws Exception {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).close();
    }
  }

  @Test
  @Order(1)
  void notReadyBeforeANodeRegistersButLive() {
    given().get("/q/health/ready").then().statusCode(503)
        .body("checks.find { it.name == 'spillway-center' }.data.leasing", equalTo(false));
    given().get("/q/health/live").then().statusCode(200)
        .body("checks.find { it.name == 'spillway-grpc' }.data.address", equalTo(core.address()));
  }

  @Test
  @Order(2)
  void edgesLeasesAreListedAsGranted() throws Exception {
    GpuNode node = new GpuNode(new NodeOptions("center-node", "center", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 32 * GIB));
    GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    started.add(server);
    started.add(new GatewayRegistrar(node, core.address(), "127.0.0.1:" + server.port(), 200).start());
    Await.until("ready and leading", () -> given().get("/q/health/ready").statusCode() == 200
        && given().get("/q/health/ready").jsonPath()
            .getBoolean("checks.find { it.name == 'spillway-center' }.data.leader"));

    LeaseConfig timings = LeaseConfig.defaults();
    edgeA = new LeaseClient(bootstrap, "edge-a", timings, Clock.systemUTC());
    edgeA.start(WAIT);
    started.add(edgeA);
    edgeB = new LeaseClient(bootstrap, "edge-b", timings, Clock.systemUTC());
    edgeB.start(WAIT);
    started.add(edgeB);
    for (long gib : new long[] {4, 4, 2, 2}) {
      a.add(grant(edgeA, gib).getLeaseId());
    }
    b1 = grant(edgeB, 2).getLeaseId();

    JsonPath leases = given().queryParam("edge", "edge-a").get("/leases").then().statusCode(200)
        .extract().jsonPath();
    assertEquals(a, leases.getList("id", String.class), "edge-a's leases, oldest grant first");
    assertEquals(List.of("GRANTED", "GRANTED", "GRANTED", "GRANTED"), leases.getList("state", String.class));
    assertEquals(List.of("edge-a", "edge-a", "edge-a", "edge-a"), leases.getList("edge", String.class));
    assertEquals(4 * GIB, leases.getLong("[0].memoryBytes"));
    assertEquals("center-node", leases.getString("[0].slices[0].node"));
    assertEquals(1, leases.getInt("[0].epoch"));
    given().queryParam("state", "granted").get("/leases").then().statusCode(200).body("size()", equalTo(5));
    given().queryParam("edge", "edge-b").get("/leases").then().statusCode(200)
        .body("id", equalTo(List.of(b1)));
  }

  @Test
  @Order(3)
  void aRevokedLeaseDrainsThenIsRevokedWithTheAdminsReasonInTheLog() throws Exception {
    String id = a.get(0);
    // Every record of the lease edge-a reads, in log order: the drain is short, so a loaded edge may read
    // DRAINING and REVOKED in one poll, and its latest view would skip DRAINING.
    List<Lease> seen = new CopyOnWriteArrayList<>();
    LeaseListener recorder = (previous, current) -> {
      if (current.getLeaseId().equals(id)) {
        seen.add(current);
      }
    };
    edgeA.addListener(recorder);
    try {
      given().header("X-Spillway-Admin", "alice").contentType(ContentType.JSON)
          .body("{\"reason\": \"card maintenance\"}")
          .post("/leases/" + id + "/revoke").then().statusCode(200)
          .body("id", equalTo(id))
          .body("state", equalTo("DRAINING"))
          .body("epoch", equalTo(2))
          .body("reason", equalTo("revoked by alice: card maintenance"));
      // Refused: the lease is no longer GRANTED. Whether it is still DRAINING or already REVOKED depends on
      // how long this call took against the 2 s drain, so both are accepted; the refusal is the point.
      given().contentType(ContentType.JSON).body("{\"reason\": \"again\"}")
          .post("/leases/" + id + "/revoke").then().statusCode(409)
          .body("field", equalTo("id"))
          .body("message", matchesPattern("lease " + id + " is (DRAINING|REVOKED); only a GRANTED lease can be "
              + "revoked"));
      // The edge reads the same records: the action is in the lease log.
      Await.until("edge-a reads the REVOKED record", () -> seen.stream()
          .anyMatch(l -> l.getState() == LeaseState.REVOKED));
      assertEquals(List.of(LeaseState.DRAINING, LeaseState.REVOKED),
          seen.stream().map(Lease::getState).toList(), "edge-a's records of " + id + ", in log order");
      assertEquals("revoked by alice: card maintenance", seen.get(0).getReason());
    } finally {
      edgeA.removeListener(recorder);
    }
    Await.until("revoked at the drain deadline", () -> "REVOKED".equals(
        given().get("/leases/" + id).jsonPath().getString("state")));
    given().queryParam("state", "REVOKED").get("/leases").then().statusCode(200)
        .body("id", equalTo(List.of(id)));
  }

  @Test
  @Order(4)
  void rebalanceRevokesTheOldestLeasesOfTheEdgeUntilEnoughMemoryDrains() {
    JsonPath result = given().header("X-Spillway-Admin", "bob").contentType(ContentType.JSON)
        .body("{\"fromEdge\": \"edge-a\", \"toEdge\": \"edge-b\", \"memoryBytes\": " + 5 * GIB
            + ", \"reason\": \"hot tenant\"}")
        .post("/rebalance").then().statusCode(200).extract().jsonPath();
    // a[0] is already REVOKED; a[1] (4 GiB) is not enough, a[2] (2 GiB) makes 6 GiB >= 5 GiB.
    assertEquals(List.of(a.get(1), a.get(2)), result.getList("revoked.id", String.class));
    assertEquals(List.of("DRAINING", "DRAINING"), result.getList("revoked.state", String.class));
    assertEquals("revoked by bob: rebalance to edge-b: hot tenant", result.getString("revoked[0].reason"));
    assertEquals(6 * GIB, result.getLong("revokedBytes"));
    assertTrue(result.getBoolean("complete"));
    given().get("/leases/" + a.get(3)).then().body("state", equalTo("GRANTED"));
    given().get("/leases/" + b1).then().body("state", equalTo("GRANTED"));
  }

  @Test
  @Order(5)
  void refusalsNameTheField() {
    given().contentType(ContentType.JSON).body("{\"reason\": \"x\"}").post("/leases/lease-nope/revoke")
        .then().statusCode(404).body("field", equalTo("id")).body("message", containsString("lease-nope"));
    given().contentType(ContentType.JSON).body("{}").post("/leases/" + a.get(3) + "/revoke")
        .then().statusCode(400).body("field", equalTo("reason"));
    given().contentType(ContentType.JSON).body("{\"reason\": ").post("/leases/" + a.get(3) + "/revoke")
        .then().statusCode(400).body("field", equalTo("body"));
    given().contentType(ContentType.JSON)
        .body("{\"fromEdge\": \"edge-a\", \"toEdge\": \"edge-b\", \"memoryBytes\": \"lots\", \"reason\": \"x\"}")
        .post("/rebalance").then().statusCode(400).body("field", equalTo("memoryBytes"));
    given().contentType(ContentType.JSON)
        .body("{\"fromEdge\": \"edge-c\", \"toEdge\": \"edge-b\", \"memoryBytes\": 1, \"reason\": \"x\"}")
        .post("/rebalance").then().statusCode(409).body("field", equalTo("fromEdge"));
    given().queryParam("state", "bogus").get("/leases").then().statusCode(400).body("field", equalTo("state"));
    given().get("/leases/" + a.get(3)).then().statusCode(200).body("state", equalTo("GRANTED"));
  }

  @Test
  @Order(6)
  void metricsAndOpenApi() {
    Await.until("a[1] and a[2] revoked", () -> given().queryParam("state", "REVOKED").get("/leases").jsonPath()
        .getList("id").size() == 3);
    String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
    assertEquals(2.0, value(metrics, "spillway_leases", "state=\"GRANTED\""), metrics);
    assertEquals(3.0, value(metrics, "spillway_leases", "state=\"REVOKED\""));
    assertEquals(0.0, value(metrics, "spillway_leases", "state=\"DRAINING\""));
    assertEquals(1.0, value(metrics, "spillway_lease_leader", ""));
    assertTrue(metrics.contains("spillway_gpu_memory_limit_bytes{"), "per-card gauges");
    given().get("/q/openapi").then().statusCode(200)
        .body(containsString("/leases/{id}/revoke"))
        .body(containsString("/rebalance"))
        .body(containsString("/leases"));
  }

  private static Lease grant(LeaseClient edge, long gib) throws Exception {
    Lease lease = edge.request(LeaseSlice.newBuilder().setGpuCount(1).setMemoryBytes(gib * GIB).build(), WAIT)
        .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertEquals(LeaseState.GRANTED, lease.getState(), lease.getReason());
    return lease;
  }

  private static double value(String metrics, String name, String label) {
    Matcher m = Pattern.compile("(?m)^" + name + "(\\{[^}]*\\})? (\\S+)").matcher(metrics);
    while (m.find()) {
      if (m.group(1) == null ? label.isEmpty() : m.group(1).contains(label)) {
        return Double.parseDouble(m.group(2));
      }
    }
    throw new AssertionError("no " + name + " with " + label);
  }
}
