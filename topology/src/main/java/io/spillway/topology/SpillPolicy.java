package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** When an edge places new sessions on the center instead of its own GPU servers. */
public record SpillPolicy(
    @JsonProperty(defaultValue = "when-full")
    @JsonPropertyDescription("`when-full`: spill only when no local GPU fits; `above-utilization`: spill once local memory use is above `threshold`.")
    SpillMode mode,

    @JsonProperty(defaultValue = "90")
    @JsonPropertyDescription("Percent of local GPU memory in use above which `above-utilization` spills, 1-100.")
    int threshold) {
}
