/** Clocks. Production code takes a {@link java.time.InstantSource}; tests pass a {@link io.spillway.pool.time.ManualClock}. */
package io.spillway.pool.time;
