package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.spillway.topology.internal.Labels;

/**
 * The GPU model labels a topology may declare, and that a slice request may ask for
 * ({@code model in [V100, P40]}). Written case-insensitively in the YAML; the label is the canonical form.
 * A new card is one more constant here, plus a line in {@code docs/topology.md} and the schema.
 */
public enum GpuModel {
  V100, P40, T4, A10, A30, A100, H100, H200, L4, L40S, RTX4090;

  @JsonValue
  public String label() {
    return name();
  }

  /** @throws IllegalArgumentException with the closest model and the accepted list */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static GpuModel of(String text) {
    return Labels.parse(values(), GpuModel::label, text, "GPU model");
  }
}
