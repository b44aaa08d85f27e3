package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** One center gateway replica. */
public record Gateway(
    @JsonProperty(required = true)
    @JsonPropertyDescription("Replica name, unique among the center gateways.")
    String name,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Host name or IP address the replica listens on.")
    String host,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Port of the gRPC endpoint (sessions, spill from edges), 1-65535.")
    int grpcPort,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Port of the HTTP endpoint (admin API, health, metrics), 1-65535.")
    int httpPort) {
}
