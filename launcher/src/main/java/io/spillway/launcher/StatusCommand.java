package io.spillway.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.spillway.topology.Edge;
import io.spillway.topology.Gateway;
import io.spillway.topology.Topology;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code spillway status FILE}: health, nodes, cards and sessions of each gateway of a running topology. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show each gateway of a running topology: health, nodes up, cards in use, sessions.")
public final class StatusCommand implements Callable<Integer> {

  @Parameters(paramLabel = "FILE", description = "The topology file the federation was started from.")
  Path file;

  static final ObjectMapper JSON = new ObjectMapper();

  /** Gateway name to its HTTP base URL, center replicas first. */
  static Map<String, String> gateways(Topology t) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Gateway g : t.center().gateways()) {
      out.put(g.name(), "http://" + g.host() + ":" + g.httpPort());
    }
    for (Edge e : t.edges()) {
      out.put(e.name(), "http://" + e.gateway().host() + ":" + e.gateway().httpPort());
    }
    return out;
  }

  /**
   * GET with {@code Authorization: Bearer $SPILLWAY_TOKEN} when that variable is set: gateways that check
   * credentials answer reads only to a read-only or admin token (spillway up writes one, read-only.jwt).
   */
  static HttpResponse<String> get(HttpClient http, String url) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
    String token = System.getenv("SPILLWAY_TOKEN");
    if (token != null && !token.isBlank()) {
      b.header("Authorization", "Bearer " + token.strip());
    }
    return http.send(b.build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public Integer call() throws Exception {
    var loaded = Topologies.load(file);
    if (loaded.isEmpty()) {
      return Topologies.BAD_TOPOLOGY;
    }
    Topology t = loaded.get();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    System.out.println("| gateway | ready | nodes up | cards up | memory allocated | sessions |");
    System.out.println("| --- | --- | ---: | ---: | ---: | ---: |");
    int down = 0;
    for (Map.Entry<String, String> g : gateways(t).entrySet()) {
      try {
        boolean ready = get(http, g.getValue() + "/q/health/ready").statusCode() == 200;
        JsonNode pool = JSON.readTree(get(http, g.getValue() + "/pool").body());
        long nodesUp = 0;
        for (JsonNode n : pool.path("nodes")) {
          nodesUp += n.path("state").asText().equals("UP") ? 1 : 0;
        }
        long cardsUp = 0;
        double allocated = 0;
        double limit = 0;
        for (JsonNode c : pool.path("gpus")) {
          if (c.path("nodeState").asText().equals("UP")) {
            cardsUp++;
            allocated += c.path("memoryAllocatedBytes").asDouble();
            limit += c.path("memoryTotalBytes").asDouble() - c.path("memoryReserveBytes").asDouble();
          }
        }
        System.out.printf(Locale.ROOT, "| %s | %s | %d of %d | %d | %.1f of %.1f GiB | %d |%n", g.getKey(),
            ready ? "yes" : "NO", nodesUp, pool.path("nodes").size(), cardsUp, allocated / (1L << 30),
            limit / (1L << 30), pool.path("sessions").size());
        down += ready ? 0 : 1;
      } catch (IOException e) {
        System.out.printf(Locale.ROOT, "| %s | unreachable at %s | - | - | - | - |%n", g.getKey(), g.getValue());
        down++;
      }
    }
    return down == 0 ? 0 : 1;
  }
}
