package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * Where the lease topics live: either a broker that {@code spillway up} starts itself ({@code embedded: true},
 * on 127.0.0.1:{@code port}), or an existing cluster ({@code bootstrap}). Exactly one of the two is set in a valid
 * topology.
 */
public record Kafka(
    @JsonProperty(defaultValue = "false")
    @JsonPropertyDescription("Run a single-node KRaft broker inside `spillway up`, on 127.0.0.1.")
    boolean embedded,

    @JsonProperty(defaultValue = "9092")
    @JsonPropertyDescription("Port of the embedded broker; ignored with `bootstrap`.")
    int port,

    @JsonPropertyDescription("Bootstrap servers of an existing Kafka cluster, `host:port[,host:port...]`.")
    String bootstrap) {
}
