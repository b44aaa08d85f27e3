package io.spillway.simulator;

import java.util.List;

/**
 * One policy's run over a trace.
 *
 * @param policy the policy
 * @param offered sessions in the trace
 * @param admitted sessions that got a slice, at their edge or (spilled) on the center
 * @param spilled of those, the ones placed on the center
 * @param rejected sessions dropped
 * @param peakConcurrent the most sessions holding slices at once, over the whole run (exact, event by event)
 * @param meanConcurrent mean of {@link Sample#concurrent()} over the busy window
 * @param meanBusyMemoryUtilization mean of {@link Sample#busyMemoryUtilization()} over the busy window
 * @param meanBusyComputeUtilization mean of {@link Sample#busyComputeUtilization()} over the busy window
 * @param meanBusyCards mean of {@link Sample#busyCards()} over the busy window
 * @param fragmentation mean, over the edge rejections, of the share of the edge's usable memory that
 *     was free but on cards that could not take the ask (NaN without edge rejections); see {@link Simulator}
 * @param rejectedWithRoom share of the edge rejections at which the edge's free memory, summed over its
 *     cards, would have held the ask (NaN without edge rejections)
 * @param edgeRejections rejections by an edge's placer (before any spill), which both figures are over
 * @param samples the sampling grid, from time 0 until the pool is empty or an hour after the last arrival
 * @param outcomes one per trace session, in trace order
 */
public record PolicyResult(
    Policy policy,
    int offered,
    int admitted,
    int spilled,
    int rejected,
    int peakConcurrent,
    double meanConcurrent,
    double meanBusyMemoryUtilization,
    double meanBusyComputeUtilization,
    double meanBusyCards,
    double fragmentation,
    double rejectedWithRoom,
    int edgeRejections,
    List<Sample> samples,
    List<SessionOutcome> outcomes) {

  public PolicyResult {
    samples = List.copyOf(samples);
    outcomes = List.copyOf(outcomes);
  }
}
