package io.spillway.pool.model;

import java.util.Objects;

/**
 * Names one session for its whole life in a gateway. Chosen by the gateway (not by the client), unique
 * among the sessions a {@link io.spillway.pool.placement.SlicePlacer} holds at one time.
 */
public record SessionId(String value) implements Comparable<SessionId> {

  public SessionId {
    Objects.requireNonNull(value, "value");
    if (value.isBlank()) {
      throw new IllegalArgumentException("session id must not be blank");
    }
  }

  public static SessionId of(String value) {
    return new SessionId(value);
  }

  @Override
  public int compareTo(SessionId other) {
    return value.compareTo(other.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
