package io.spillway.pool.registry;

/**
 * Answer to {@link NodeRegistry#register(NodeRegistration)}.
 *
 * @param node the node after registering
 * @param outcome what the registration did
 */
public record Registration(Node node, Outcome outcome) {

  /** What a registration did to the registry. */
  public enum Outcome {
    /** A node id never seen before joined. */
    JOINED,
    /** A node that was DOWN joined again, empty (its old slices were dropped when it went down). */
    REJOINED,
    /**
     * A node that was UP registered with a different address, pool or GPU set. The old registration
     * was taken down first (listeners got {@code onNodeDown}, its slices were dropped), then the new
     * one came up empty.
     */
    REPLACED,
    /**
     * A node that was UP registered again with exactly the same address, pool and GPUs; counted as a
     * heartbeat, no events, its slices kept.
     */
    REFRESHED
  }
}
