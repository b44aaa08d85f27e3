package io.spillway.simulator;

import java.util.List;
import java.util.Objects;

/**
 * How a simulated federation places sessions: the packing rule at every placer, and whether an edge
 * that cannot place a session spills it to the center.
 *
 * @param packing the rule
 * @param spill when true, a session the edge's placer rejects is placed on the center's placer (a lease,
 *     in the real federation); when false it is dropped
 */
public record Policy(Packing packing, boolean spill) {

  /** The rule a placer applies. */
  public enum Packing {
    /**
     * The baseline without pooling: each session takes a whole card (all its usable memory and 100%
     * compute) whatever it asked for.
     */
    ONE_PER_CARD("one-per-card"),
    /** {@link io.spillway.pool.placement.PlacementStrategy#BINPACK} slices of the size asked. */
    BINPACK("binpack"),
    /** {@link io.spillway.pool.placement.PlacementStrategy#SPREAD} slices of the size asked. */
    SPREAD("spread");

    private final String label;

    Packing(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /** The six policies compared by {@code spillway simulate}, baseline first. */
  public static final List<Policy> ALL = List.of(
      new Policy(Packing.ONE_PER_CARD, false), new Policy(Packing.ONE_PER_CARD, true),
      new Policy(Packing.BINPACK, false), new Policy(Packing.BINPACK, true),
      new Policy(Packing.SPREAD, false), new Policy(Packing.SPREAD, true));

  public Policy {
    Objects.requireNonNull(packing, "packing");
  }

  /** {@code binpack}, {@code binpack+spill}, ... */
  public String name() {
    return packing.label() + (spill ? "+spill" : "");
  }

  @Override
  public String toString() {
    return name();
  }
}
