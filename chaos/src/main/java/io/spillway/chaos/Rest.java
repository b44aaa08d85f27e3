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

/** The gateways' HTTP APIs, read defensively: a component that does not answer gives a missing node. */
final class Rest {

  record Answer(int status, JsonNode body, String text) {}

  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private Rest() {}

  /** GET {@code url} as JSON, whatever the status; a missing node when it cannot be reached or parsed. */
  static JsonNode get(String url) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      return JSON.readTree(r.body());
    } catch (IOException e) {
      return MissingNode.getInstance();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return MissingNode.getInstance();
    }
  }

  /** POST a JSON body, naming the actor; status -1 when it cannot be sent. */
  static Answer post(String url, String json, String actor) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url))
          .timeout(Duration.ofSeconds(15)).header("Content-Type", "application/json")
          .header("X-Spillway-Admin", actor).POST(HttpRequest.BodyPublishers.ofString(json)).build(),
          HttpResponse.BodyHandlers.ofString());
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

  /** Whether a center replica's readiness says it leads the lease election. */
  static boolean isLeader(String http) {
    for (JsonNode check : get(http + "/q/health/ready").path("checks")) {
      if (check.path("data").path("leader").asBoolean(false)) {
        return true;
      }
    }
    return false;
  }
}
