package io.spillway.agent.kube;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.logging.Logger;

/**
 * Reads the edge gateway's pool view ({@code GET <base>/pool}, its HTTP port) and sums, over the cards of
 * UP nodes, total memory less the node's reserve: what slices could ever be given, whatever is allocated
 * now (allocated memory is the pods' own, not lost capacity).
 */
public final class EdgePoolCapacity implements PoolCapacity {

  private static final Logger LOG = Logger.getLogger(EdgePoolCapacity.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI pool;
  private final HttpClient http;

  public EdgePoolCapacity(URI base) {
    String b = base.toString();
    this.pool = URI.create(b.endsWith("/") ? b + "pool" : b + "/pool");
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  @Override
  public OptionalLong usableBytes() {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(pool).timeout(Duration.ofSeconds(5)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        LOG.warning("GET " + pool + " answered " + r.statusCode() + "; device health stays as it was");
        return OptionalLong.empty();
      }
      return OptionalLong.of(usable(JSON.readTree(r.body())));
    } catch (IOException e) {
      LOG.warning("GET " + pool + " failed: " + e.getMessage() + "; device health stays as it was");
      return OptionalLong.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return OptionalLong.empty();
    }
  }

  /** The usable bytes of a pool view; refuses a document without {@code gpus}. */
  static long usable(JsonNode pool) throws IOException {
    JsonNode gpus = pool.get("gpus");
    if (gpus == null || !gpus.isArray()) {
      throw new IOException("the pool view has no gpus array");
    }
    long sum = 0;
    for (JsonNode g : gpus) {
      if ("UP".equals(g.path("nodeState").asText())) {
        sum += Math.max(0, g.path("memoryTotalBytes").asLong() - g.path("memoryReserveBytes").asLong());
      }
    }
    return sum;
  }
}
