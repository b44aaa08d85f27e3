/**
 * Clocks and timers. Production code takes a {@link java.time.InstantSource} and a
 * {@link java.util.concurrent.ScheduledExecutorService}; tests pass a
 * {@link io.spillway.pool.time.ManualClock} and a {@link io.spillway.pool.time.ManualScheduler} on it, and
 * advance time instead of sleeping.
 */
package io.spillway.pool.time;
