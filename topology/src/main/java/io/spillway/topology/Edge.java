package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import java.util.List;

/** An edge site: its gateway, its own GPU servers, the app servers that use them, and when to spill. */
public record Edge(
    @JsonProperty(required = true)
    @JsonPropertyDescription("Edge name, unique among edges; also the name of its gateway and the key of its lease requests.")
    String name,

    @JsonPropertyDescription("Free-form region label (e.g. a province), for operators and metrics.")
    String region,

    @JsonProperty(required = true)
    @JsonPropertyDescription("The edge gateway.")
    EdgeGateway gateway,

    @JsonProperty(defaultValue = "[]")
    @JsonPropertyDescription("GPU servers owned by the edge; with none, every session spills.")
    List<GpuServer> gpuServers,

    @JsonProperty(defaultValue = "[]")
    @JsonPropertyDescription("Machines without GPUs that run workloads against this edge.")
    List<AppServer> appServers,

    @JsonProperty(defaultValue = "{}")
    @JsonPropertyDescription("When sessions spill to the center.")
    SpillPolicy spill,

    @JsonProperty(defaultValue = "never")
    @JsonPropertyDescription("Whether spilled sessions move back home: `never`, `when-idle` or `immediate`.")
    Failback failback) {

  public Edge {
    gpuServers = gpuServers == null ? List.of() : List.copyOf(gpuServers);
    appServers = appServers == null ? List.of() : List.copyOf(appServers);
  }
}
