package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** A machine at an edge that runs inference workloads and has no GPU: its sessions go through the edge gateway. */
public record AppServer(
    @JsonProperty(required = true)
    @JsonPropertyDescription("Server name, unique among all servers of the file.")
    String name,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Host name or IP address of the server.")
    String host) {
}
