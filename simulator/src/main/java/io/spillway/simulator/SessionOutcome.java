package io.spillway.simulator;

/**
 * What became of one trace session under one policy.
 *
 * @param index the session's position in the trace (arrival order, ties in trace order)
 * @param origin where the session came from ({@code trace.csv:14}, {@code generated #12})
 * @param edge the edge the session arrived at
 * @param status admitted at its edge, spilled to the center, or rejected
 * @param pool where it was placed: the edge's name or {@code center}; null if rejected
 * @param nodeId the GPU server it was placed on; null if rejected
 * @param gpuIndex the card's index on that server; -1 if rejected
 * @param reason the placer's message for the last rejection; null if admitted
 */
public record SessionOutcome(
    int index, String origin, String edge, Status status, String pool, String nodeId, int gpuIndex, String reason) {

  /** Admitted at its edge, spilled to the center, or dropped. */
  public enum Status { ADMITTED, SPILLED, REJECTED }

  public boolean placed() {
    return status != Status.REJECTED;
  }
}
