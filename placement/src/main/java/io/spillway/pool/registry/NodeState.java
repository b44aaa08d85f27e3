package io.spillway.pool.registry;

/** Whether a registered node may receive new slices. */
public enum NodeState {
  /** Registered and heartbeating within the timeout; its GPUs are offered to placement. */
  UP,
  /**
   * Missed its heartbeat timeout or was marked down; its GPUs are withdrawn and their slices dropped.
   * It comes back only by registering again, and then starts empty.
   */
  DOWN
}
