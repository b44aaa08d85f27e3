package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** The gateway of an edge site; it takes its name from the edge. */
public record EdgeGateway(
    @JsonProperty(required = true)
    @JsonPropertyDescription("Host name or IP address the edge gateway listens on.")
    String host,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Port of the gRPC endpoint that clients connect to, 1-65535.")
    int grpcPort,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Port of the HTTP endpoint (health, metrics), 1-65535.")
    int httpPort) {
}
