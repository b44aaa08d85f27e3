package io.spillway.simulator;

/**
 * The simulated federation at one instant of the sampling grid, after every event at or before it.
 *
 * <p>Utilization counts what sessions <em>asked for</em>, not what the placer reserved: under
 * one-per-card a session reserves the whole card but uses only its ask, and that gap is the point of the
 * comparison. For the other policies the two are equal.
 *
 * @param timeSeconds simulated time
 * @param concurrent sessions holding a slice (edges and center)
 * @param busyCards cards holding at least one session
 * @param busyMemoryUtilization memory asked by the sessions on busy cards over those cards' usable
 *     memory; 0 when no card is busy
 * @param busyComputeUtilization the same for compute percent
 * @param cardMemoryUtilization per card, in {@link SimulationResult#cards()} order: asked / usable memory
 * @param cardComputeUtilization per card: asked compute percent / 100
 */
public record Sample(
    double timeSeconds,
    int concurrent,
    int busyCards,
    double busyMemoryUtilization,
    double busyComputeUtilization,
    float[] cardMemoryUtilization,
    float[] cardComputeUtilization) {}
