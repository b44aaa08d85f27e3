package io.spillway.pool.placement;

/** How {@link SlicePlacer} chooses among the cards a slice fits on. */
public enum PlacementStrategy {
  /**
   * Fill the card with the least free memory left after placement (tie: more compute already used,
   * then node id, then GPU index), to keep whole cards free for large requests. The default.
   */
  BINPACK,
  /**
   * Use the card with the most free memory (tie: less compute already used, then node id, then GPU
   * index), to spread load.
   */
  SPREAD
}
