package io.spillway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reads real HTTP servers on loopback: one center that answers, one peer port nothing listens on. */
class FederationReaderTest {

  private static HttpServer gateway(Map<String, String> answers) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext("/", ex -> {
      String body = answers.get(ex.getRequestURI().getPath());
      byte[] bytes = (body == null ? "{\"status\":404}" : body).getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(body == null ? 404 : 200, bytes.length);
      ex.getResponseBody().write(bytes);
      ex.close();
    });
    s.start();
    return s;
  }

  @Test
  void readsEachGatewayAndReportsTheOneThatDoesNotAnswer() throws Exception {
    HttpServer center = gateway(Map.of(
        "/console/api/self", "{\"name\":\"center-gw\",\"kind\":\"center\",\"pool\":\"center\"}",
        "/pool", "{\"gpus\":[{\"node\":\"n\"}]}",
        "/sessions", "[]",
        "/leases", "[{\"id\":\"lease-1\",\"state\":\"GRANTED\"}]"));
    int dead;
    try (ServerSocket s = new ServerSocket(0)) {
      dead = s.getLocalPort();
    }
    try {
      URI self = URI.create("http://127.0.0.1:" + center.getAddress().getPort());
      FederationReader reader = new FederationReader(HttpClient.newHttpClient(), new ObjectMapper(),
          FederationReader.parsePeers(List.of("center-gw=" + self, "edge-a=http://127.0.0.1:" + dead)));
      JsonNode f = reader.read(self, false);
      assertEquals(2, f.get("gateways").size(), "the peer at self's address is read once: " + f);
      JsonNode c = f.get("gateways").get(0);
      assertTrue(c.get("up").asBoolean());
      assertEquals("center", c.get("kind").asText());
      assertEquals("center", c.get("poolName").asText());
      assertEquals("n", c.at("/pool/gpus/0/node").asText());
      assertEquals("lease-1", c.at("/leases/0/id").asText());
      JsonNode e = f.get("gateways").get(1);
      assertEquals("edge-a", e.get("name").asText());
      assertFalse(e.get("up").asBoolean());
      assertTrue(e.get("error").asText().contains("Connect"), e.toString());
    } finally {
      center.stop(0);
    }
  }

  @Test
  void badPeerEntriesAreRefusedNamingTheKeyAndTheEntry() {
    var noName = assertThrows(IllegalArgumentException.class,
        () -> FederationReader.parsePeers(List.of("http://127.0.0.1:8081")));
    assertTrue(noName.getMessage().startsWith("spillway.console.peers holds 'http://127.0.0.1:8081'"),
        noName.getMessage());
    var noPort = assertThrows(IllegalArgumentException.class,
        () -> FederationReader.parsePeers(List.of("a=http://host")));
    assertTrue(noPort.getMessage().contains("must name a host and a port"), noPort.getMessage());
    var twice = assertThrows(IllegalArgumentException.class,
        () -> FederationReader.parsePeers(List.of("a=http://h:1", "a=http://h:2")));
    assertTrue(twice.getMessage().contains("names a twice"), twice.getMessage());
    assertEquals(List.of(new FederationReader.Peer("a", URI.create("http://h:1"))),
        FederationReader.parsePeers(List.of(" a = http://h:1/ ")));
  }
}
