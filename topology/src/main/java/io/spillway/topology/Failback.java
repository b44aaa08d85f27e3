package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.spillway.topology.internal.Labels;

/**
 * Whether sessions spilled to the center move back to the edge once local capacity returns. Moving a session
 * replays its journal onto the new slice, so it is never free: the default is {@link #NEVER}.
 */
public enum Failback {
  /** Spilled sessions stay on the center until they end (or their lease is lost). */
  NEVER("never"),
  /** A spilled session moves home when it has no operation in flight and local capacity fits it. */
  WHEN_IDLE("when-idle"),
  /** A spilled session moves home as soon as local capacity fits it, at its next synchronizing call. */
  IMMEDIATE("immediate");

  private final String label;

  Failback(String label) {
    this.label = label;
  }

  @JsonValue
  public String label() {
    return label;
  }

  /** @throws IllegalArgumentException with the closest value and the accepted list */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static Failback of(String text) {
    return Labels.parse(values(), Failback::label, text, "failback policy");
  }
}
