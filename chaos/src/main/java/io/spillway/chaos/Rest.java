package io.spillway.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The gateways' HTTP APIs, read defensively: a component that does not answer gives a missing node.
 * Reads carry the run's read-only token and orders its admin token, as the gateways require them; a
 * gateway that refuses a token (401, 403) is a fault of the suite, not of the federation, and throws.
 */
final class Rest {

  record Answer(int status, JsonNode body, String text) {}

  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final String readToken;
  private final String adminToken;

  /** @param readToken bearer token for reads, admitted by role spillway-read-only; null: none sent */
  Rest(String readToken, String adminToken) {
    this.readToken = readToken;
    this.adminToken = adminToken;
  }

  /** GET {@code url} as JSON, whatever the status; a missing node when it cannot be reached or parsed. */
  JsonNode get(String url) {
    try {
      HttpResponse<String> r = HTTP.send(bearer(HttpRequest.newBuilder(URI.create(url)), readToken)
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      refusedToken(url, r);
      return JSON.readTree(r.body());
    } catch (IOException e) {
      return MissingNode.getInstance();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return MissingNode.getInstance();
    }
  }

  /** POST a JSON body with the admin token; status -1 when it cannot be sent. */
  Answer post(String url, String json) {
    try {
      HttpResponse<String> r = HTTP.send(bearer(HttpRequest.newBuilder(URI.create(url)), adminToken)
          // An order is answered once the leader's record says it applied, or the center's admin timeout
          // passed: after a broker restart on a loaded machine that took more than 15 s.
          .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
      refusedToken(url, r);
      JsonNode body;
      try {
        body = JSON.readTree(r.body());
      } catch (IOException notJson) {
        body = MissingNode.getInstance();
      }
      return new Answer(r.statusCode(), body, r.body());
    } catch (IOException e) {
      return new Answer(-1, MissingNode.getInstance(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Answer(-1, MissingNode.getInstance(), "interrupted");
    }
  }

  /**
   * Whether a center replica's readiness says it leads the lease election. Health needs no token (probes
   * carry none), so none is sent.
   */
  boolean isLeader(String http) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(http + "/q/health/ready"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      for (JsonNode check : JSON.readTree(r.body()).path("checks")) {
        if (check.path("data").path("leader").asBoolean(false)) {
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static HttpRequest.Builder bearer(HttpRequest.Builder b, String token) {
    return token == null ? b : b.header("Authorization", "Bearer " + token);
  }

  private static void refusedToken(String url, HttpResponse<String> r) {
    if (r.statusCode() == 401 || r.statusCode() == 403) {
      throw new IllegalStateException(url + " refused the suite's token: " + r.statusCode() + " " + r.body());
    }
  }
}
