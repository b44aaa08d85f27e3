package io.spillway.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.spillway.topology.Gateway;
import io.spillway.topology.Topology;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code spillway leases FILE}: the center's leases, from the first center gateway that answers. */
@Command(name = "leases", mixinStandardHelpOptions = true,
    description = "List the center's leases of a running topology (GET /leases on a center gateway).")
public final class LeasesCommand implements Callable<Integer> {

  @Parameters(paramLabel = "FILE", description = "The topology file the federation was started from.")
  Path file;

  @Option(names = "--edge", paramLabel = "<name>", description = "Only this edge's leases.")
  String edge;

  @Option(names = "--state", paramLabel = "<state>", description = "Only leases in this state (GRANTED, DRAINING, RELEASED, EXPIRED, REVOKED, REFUSED).")
  String state;

  @Override
  public Integer call() throws Exception {
    var loaded = Topologies.load(file);
    if (loaded.isEmpty()) {
      return Topologies.BAD_TOPOLOGY;
    }
    Topology t = loaded.get();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    StringBuilder query = new StringBuilder();
    if (edge != null) {
      query.append(query.length() == 0 ? "?" : "&").append("edge=").append(URLEncoder.encode(edge, StandardCharsets.UTF_8));
    }
    if (state != null) {
      query.append(query.length() == 0 ? "?" : "&").append("state=").append(URLEncoder.encode(state, StandardCharsets.UTF_8));
    }
    for (Gateway g : t.center().gateways()) {
      String url = "http://" + g.host() + ":" + g.httpPort() + "/leases" + query;
      HttpResponse<String> r;
      try {
        r = StatusCommand.get(http, url);
      } catch (IOException e) {
        System.err.println(g.name() + " unreachable (" + e.getMessage() + "); trying the next replica");
        continue;
      }
      if (r.statusCode() != 200) {
        System.err.println(g.name() + " answered " + r.statusCode() + ": " + r.body());
        return 1;
      }
      JsonNode leases = StatusCommand.JSON.readTree(r.body());
      System.out.println("Leases as " + g.name() + " sees them:");
      System.out.println();
      System.out.println("| lease | edge | state | epoch | GPUs | memory per GPU | deadline | reason |");
      System.out.println("| --- | --- | --- | ---: | ---: | ---: | --- | --- |");
      for (JsonNode l : leases) {
        JsonNode slices = l.path("slices");
        double mem = slices.size() == 0 ? 0 : slices.get(0).path("memoryBytes").asDouble() / (1L << 30);
        String deadline = l.path("deadline").isNumber()
            ? Instant.ofEpochMilli(l.path("deadline").asLong()).toString() : l.path("deadline").asText();
        System.out.printf(Locale.ROOT, "| %s | %s | %s | %d | %d | %.1f GiB | %s | %s |%n", l.path("id").asText(),
            l.path("edge").asText(), l.path("state").asText(), l.path("epoch").asLong(), slices.size(), mem,
            deadline, l.path("reason").asText());
      }
      return 0;
    }
    System.err.println("no center gateway answered");
    return 1;
  }
}
