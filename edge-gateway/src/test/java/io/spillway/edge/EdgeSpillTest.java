package io.spillway.edge;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.testkit.Await;
import jakarta.inject.Inject;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The edge app with {@code spillway.edge.spill.enabled}: against a real Kafka broker and a center
 * gateway (started by {@link CenterFederation}), a session that does not fit the edge's only card is
 * opened on the center under a lease, and REST and metrics say so.
 */
@QuarkusTest
@WithTestResource(CenterFederation.class)
class EdgeSpillTest {

  private static final long GIB = 1L << 30;

  @Inject
  GatewayCore core;

  @Test
  void aSessionTheEdgeCannotHoldRunsOnTheCenter() throws Exception {
    GpuNode node = new GpuNode(new NodeOptions("edge-node", "edge/test", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 8 * GIB));
    try (GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
        GatewayRegistrar registrar = new GatewayRegistrar(node, core.address(), "127.0.0.1:" + server.port(),
            200).start();
        SpillwayClient client = SpillwayClient.connect(core.address())) {
      Await.until("edge-node registered", core::ready);
      try (GpuSession local = client.open(SliceRequest.builder().tenant("acme").memoryBytes(6 * GIB).build());
          GpuSession spilled = client.open(SliceRequest.builder().tenant("acme").memoryBytes(6 * GIB).build())) {
        assertEquals("edge/test", local.devices().get(0).pool());
        assertEquals("center", spilled.devices().get(0).pool(), "6 + 6 GiB do not fit the 8 GiB edge card");
        assertEquals("center-node", spilled.devices().get(0).node());
        var buffer = spilled.alloc(4096);
        spilled.fill(buffer, 0, 4096, 7);
        assertEquals(7, spilled.read(buffer, 4095, 1)[0], "the spilled session computes on the center");

        JsonPath sessions = given().get("/sessions").then().statusCode(200).extract().jsonPath();
        assertEquals(List.of("center", "edge-node"),
            sessions.getList("node", String.class).stream().sorted().toList());
        assertEquals(spilled.sessionId(), sessions.getString("find { it.node == 'center' }.id"));

        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        Matcher m = Pattern.compile("(?m)^spillway_spilled_sessions_total\\{[^}]*tenant=\"acme\"[^}]*\\} (\\S+)")
            .matcher(metrics);
        assertTrue(m.find(), "spillway_spilled_sessions_total{tenant=acme} is exposed");
        assertEquals(1.0, Double.parseDouble(m.group(1)));

        // The way to the center, for operators: its replica and the circuit breaker, closed.
        String centerAddress = org.eclipse.microprofile.config.ConfigProvider.getConfig()
            .getValue("spillway.edge.spill.center", String.class);
        JsonPath pool = given().get("/pool").then().statusCode(200).extract().jsonPath();
        assertEquals(List.of(centerAddress), pool.getList("spill.centers", String.class));
        assertEquals(centerAddress, pool.getString("spill.preferredCenter"));
        assertEquals("CLOSED", pool.getString("spill.circuitBreaker"));
        assertEquals(null, pool.getString("spill.probeAt"));
        JsonPath ready = given().get("/q/health/ready").then().extract().jsonPath();
        assertEquals("CLOSED", ready.getString("checks.find { it.name == 'spillway-center' }.data.'circuit breaker'"));
      }
    }
  }
}
