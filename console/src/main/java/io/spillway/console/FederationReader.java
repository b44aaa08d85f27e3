package io.spillway.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * Reads what the console shows of a federation from each gateway's own HTTP API: {@code /console/api/self}
 * (who it is), {@code /pool}, {@code /sessions}, and on a center {@code /leases}. The console's page asks
 * the gateway that served it, which asks this gateway and its declared peers, so the browser talks to one
 * origin only.
 *
 * <p>A gateway that does not answer within {@link #TIMEOUT} is reported with {@code error} (the console
 * shows it down); the others are still shown.
 */
public final class FederationReader {

  /** How long one gateway's answers may take before it is reported unreachable. */
  public static final Duration TIMEOUT = Duration.ofSeconds(4);

  /** A gateway to read, by the name the launcher gave it and its HTTP base address. */
  public record Peer(String name, URI url) {}

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,100}");

  private final HttpClient http;
  private final ObjectMapper json;
  private final List<Peer> peers;

  public FederationReader(HttpClient http, ObjectMapper json, List<Peer> peers) {
    this.http = http;
    this.json = json;
    this.peers = List.copyOf(peers);
  }

  public List<Peer> peers() {
    return peers;
  }

  /**
   * Parses {@code spillway.console.peers}: entries {@code name=http://host:port}.
   *
   * @throws IllegalArgumentException naming the key, the entry and what is accepted
   */
  public static List<Peer> parsePeers(List<String> entries) {
    Map<String, Peer> out = new LinkedHashMap<>();
    for (String raw : entries) {
      String e = raw.strip();
      int eq = e.indexOf('=');
      String name = eq < 0 ? "" : e.substring(0, eq).strip();
      String url = eq < 0 ? "" : e.substring(eq + 1).strip();
      if (!NAME.matcher(name).matches() || !(url.startsWith("http://") || url.startsWith("https://"))) {
        throw new IllegalArgumentException("spillway.console.peers holds '" + e + "'; each entry must be "
            + "name=http://host:port (a gateway's name, letters, digits, . _ -, and its HTTP address)");
      }
      URI uri;
      try {
        uri = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException("spillway.console.peers holds '" + e + "'; " + url
            + " is not a URL: " + ex.getMessage());
      }
      if (uri.getHost() == null || uri.getPort() < 1) {
        throw new IllegalArgumentException("spillway.console.peers holds '" + e + "'; " + url
            + " must name a host and a port");
      }
      if (out.put(name, new Peer(name, uri)) != null) {
        throw new IllegalArgumentException("spillway.console.peers names " + name + " twice");
      }
    }
    return List.copyOf(out.values());
  }

  /**
   * Reads {@code self} and every peer (a peer at self's address is skipped) concurrently.
   *
   * @param history also read each gateway's {@code /console/api/history}
   */
  public ObjectNode read(URI self, boolean history) {
    return read(self, history, null);
  }

  /**
   * As {@link #read(URI, boolean)}, sending {@code authorization} (the caller's {@code Authorization}
   * header, or null) with every request.
   */
  public ObjectNode read(URI self, boolean history, String authorization) {
    List<URI> urls = new ArrayList<>();
    urls.add(self);
    List<String> names = new ArrayList<>();
    names.add(null);
    for (Peer p : peers) {
      if (!sameOrigin(p.url(), self)) {
        urls.add(p.url());
        names.add(p.name());
      }
    }
    List<CompletableFuture<ObjectNode>> reads = new ArrayList<>();
    for (int i = 0; i < urls.size(); i++) {
      reads.add(readOne(names.get(i), urls.get(i), history, authorization));
    }
    ObjectNode out = json.createObjectNode();
    ArrayNode gateways = out.putArray("gateways");
    reads.forEach(r -> gateways.add(r.join()));
    return out;
  }

  private static boolean sameOrigin(URI a, URI b) {
    return a.getPort() == b.getPort() && a.getHost().equalsIgnoreCase(b.getHost());
  }

  private CompletableFuture<ObjectNode> readOne(String name, URI base, boolean history, String authorization) {
    ObjectNode gw = json.createObjectNode();
    gw.put("url", base.toString());
    if (name != null) {
      gw.put("name", name);
    }
    return get(base, "/console/api/self", authorization).thenCompose(self -> {
      gw.setAll((ObjectNode) self);
      // /pool's answer takes the key "pool"; the gateway's pool name moves aside.
      gw.set("poolName", self.get("pool"));
      List<String> paths = new ArrayList<>(List.of("/pool", "/sessions"));
      if ("center".equals(self.path("kind").asText())) {
        paths.add("/leases");
      }
      if (history) {
        paths.add("/console/api/history");
      }
      List<CompletableFuture<JsonNode>> parts = paths.stream().map(p -> get(base, p, authorization)).toList();
      return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
        for (int i = 0; i < paths.size(); i++) {
          String p = paths.get(i);
          gw.set(p.substring(p.lastIndexOf('/') + 1), parts.get(i).join());
        }
        gw.put("up", true);
        return gw;
      });
    }).exceptionally(e -> {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      gw.put("up", false);
      gw.put("error", cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage()));
      return gw;
    });
  }

  private CompletableFuture<JsonNode> get(URI base, String path, String authorization) {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(TIMEOUT)
        .header("Accept", "application/json").GET();
    if (authorization != null && !authorization.isBlank()) {
      b.header("Authorization", authorization);
    }
    HttpRequest request = b.build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
      if (r.statusCode() != 200) {
        throw new IllegalStateException("GET " + path + " answered " + r.statusCode());
      }
      try {
        return json.readTree(r.body());
      } catch (java.io.IOException e) {
        throw new IllegalStateException("GET " + path + " is not JSON: " + e.getMessage());
      }
    });
  }
}
