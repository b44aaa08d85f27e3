package io.spillway.pool.placement;

import io.spillway.pool.model.SessionId;
import java.util.List;

/**
 * The result of {@link SlicePlacer#place}: the slices reserved, or why none were. A rejection is a value,
 * not an exception, because running out of capacity is an ordinary outcome (an edge spills on it);
 * {@link #orElseThrow()} turns it into a {@link PlacementException} for callers that prefer one.
 */
public sealed interface Placement {

  SessionId sessionId();

  /** The slices if placed; throws {@link PlacementException} carrying the reason and message if not. */
  Placed orElseThrow();

  /**
   * Reserved: one slice per GPU asked for, each on a distinct card, in the order chosen (best first).
   * The reservation holds until {@link SlicePlacer#release} or until the card's node goes down.
   */
  record Placed(SessionId sessionId, String tenant, List<Slice> slices) implements Placement {
    public Placed {
      slices = List.copyOf(slices);
    }

    @Override
    public Placed orElseThrow() {
      return this;
    }
  }

  /** Nothing was reserved. {@code message} says what was asked and what is free, for the wire status. */
  record Rejected(SessionId sessionId, Reason reason, String message) implements Placement {
    @Override
    public Placed orElseThrow() {
      throw new PlacementException(this);
    }
  }

  /** Why a placement was rejected. */
  enum Reason {
    /** No UP card has a model the request accepts. */
    NO_MATCHING_GPU,
    /** Cards of the right model exist, but too few have the memory and compute free. */
    NO_CAPACITY,
    /** The tenant's session or memory quota would be exceeded. */
    QUOTA_EXCEEDED,
    /** The session id already holds slices. */
    DUPLICATE_SESSION
  }
}
