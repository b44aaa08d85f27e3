package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import java.time.Duration;

/** GPU server liveness. Invariant checked by the loader: {@code interval < timeout}. */
public record Heartbeat(
    @JsonProperty(defaultValue = "5s")
    @JsonPropertyDescription("How often a GPU server reports to its gateway.")
    Duration interval,

    @JsonProperty(defaultValue = "15s")
    @JsonPropertyDescription("Silence after which a GPU server is declared lost and its sessions replayed elsewhere; more than `interval`.")
    Duration timeout) {
}
