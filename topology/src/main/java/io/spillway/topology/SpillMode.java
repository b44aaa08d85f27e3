package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.spillway.topology.internal.Labels;

/** When an edge sends new sessions to the center instead of placing them on its own GPU servers. */
public enum SpillMode {
  /** Only when no local GPU can hold the requested slice. */
  WHEN_FULL("when-full"),
  /** As soon as local memory use (all edge GPUs together) is above {@link SpillPolicy#threshold()} percent. */
  ABOVE_UTILIZATION("above-utilization");

  private final String label;

  SpillMode(String label) {
    this.label = label;
  }

  @JsonValue
  public String label() {
    return label;
  }

  /** @throws IllegalArgumentException with the closest mode and the accepted list */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static SpillMode of(String text) {
    return Labels.parse(values(), SpillMode::label, text, "spill mode");
  }
}
