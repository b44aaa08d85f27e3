package io.spillway.pool.placement;

import io.spillway.pool.model.SessionId;

/** Thrown by {@link Placement#orElseThrow()} for a rejected placement; carries the rejection. */
public final class PlacementException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Placement.Rejected rejected;

  public PlacementException(Placement.Rejected rejected) {
    super(rejected.message());
    this.rejected = rejected;
  }

  public Placement.Reason reason() {
    return rejected.reason();
  }

  public SessionId sessionId() {
    return rejected.sessionId();
  }

  public Placement.Rejected rejected() {
    return rejected;
  }
}
