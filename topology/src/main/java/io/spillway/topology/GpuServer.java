package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import java.util.List;

/** A machine with GPUs running a gpu-node, in the center or at an edge. */
public record GpuServer(
    @JsonProperty(required = true)
    @JsonPropertyDescription("Server name, unique among all servers of the file (GPU and app servers, center and edges).")
    String name,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Host name or IP address of the server.")
    String host,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Port of the gpu-node gRPC endpoint, 1-65535.")
    int nodePort,

    @JsonProperty(required = true)
    @JsonPropertyDescription("The cards of the server, as groups of identical cards; at least one group.")
    List<GpuGroup> gpus) {

  public GpuServer {
    gpus = gpus == null ? List.of() : List.copyOf(gpus);
  }

  /** Number of cards, all groups together. */
  public int gpuCount() {
    return gpus.stream().mapToInt(GpuGroup::count).sum();
  }
}
