package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * {@code count} identical cards of one server. Slices placed on one card never add up to more than
 * {@code memory - reserve}. Invariants checked by the loader: memory positive, count at least 1,
 * {@code reserve < memory}.
 */
public record GpuGroup(
    @JsonProperty(required = true)
    @JsonPropertyDescription("Card model label, case-insensitive: V100, P40, T4, A10, A30, A100, H100, H200, L4, L40S or RTX4090.")
    GpuModel model,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Device memory of one card.")
    DataSize memory,

    @JsonProperty(defaultValue = "1")
    @JsonPropertyDescription("Number of identical cards in this group, at least 1.")
    int count,

    @JsonProperty(defaultValue = "0")
    @JsonPropertyDescription("Memory of each card kept out of slices (CUDA context, driver); less than `memory`.")
    DataSize reserve) {

  /** Memory of one card that slices may use. */
  public DataSize usableMemory() {
    return memory.minus(reserve);
  }
}
