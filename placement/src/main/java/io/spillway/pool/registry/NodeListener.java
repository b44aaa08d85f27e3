package io.spillway.pool.registry;

/**
 * Hears nodes come and go.
 *
 * <p>Threading: called on the thread that made the change (a registration, a heartbeat check, a
 * {@link NodeRegistry#markDown}), <em>while that thread holds the registry's lock</em>, so every
 * listener sees every node's events in the order they happened, and a listener that keeps its own view
 * of the pool (as {@link io.spillway.pool.placement.SlicePlacer} does) never sees them out of order.
 * A listener must therefore return quickly and must not wait for another thread that may itself call
 * the registry; hand slow work (closing streams, replaying sessions) to an executor. Calling back into
 * the registry from the same thread is allowed. An exception thrown by a listener is logged and does
 * not stop the others.
 */
public interface NodeListener {

  /**
   * The node is up with a fresh start: first registration, rejoin after being DOWN, or a registration
   * that replaced a different one (then {@link #onNodeDown} for the old one came first).
   */
  default void onNodeUp(Node node) {}

  /**
   * The node's GPUs are withdrawn; sessions with slices on it can no longer run there.
   *
   * @param node the node as it was marked down (state DOWN, its last heartbeat and generation)
   * @param reason why, for logs and for the status sent to clients, for example
   *     {@code "no heartbeat for 16s (timeout 15s)"}
   */
  default void onNodeDown(Node node, String reason) {}
}
