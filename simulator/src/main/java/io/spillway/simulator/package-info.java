/**
 * Capacity planning without GPUs: {@link io.spillway.simulator.Simulator} replays a trace of sessions
 * through the pool's real {@link io.spillway.pool.placement.SlicePlacer}, one per edge and one for the
 * center, under the {@link io.spillway.simulator.Policy policies} compared, and returns a
 * {@link io.spillway.simulator.SimulationResult}. Traces are in {@code trace}, tables and plots in
 * {@code report}, the {@code simulate} command in {@code cli}.
 */
package io.spillway.simulator;
