package io.spillway.pool.placement;

import io.spillway.pool.model.SessionId;
import java.util.Set;

/**
 * Hears that sessions lost slices because a node went down (or was replaced). The sessions stay in the
 * placer, holding whatever slices they have on other nodes, until the gateway
 * {@link SlicePlacer#release releases} them (after failing them with UNAVAILABLE, or after replaying
 * them elsewhere under a new placement).
 *
 * <p>Threading: called after the placer's lock is released, on the thread that delivered the node
 * event, which holds the {@link io.spillway.pool.registry.NodeRegistry}'s lock; the rules of
 * {@link io.spillway.pool.registry.NodeListener} apply (be quick, hand slow work to an executor).
 * Calling {@link SlicePlacer#release} from here is allowed.
 */
@FunctionalInterface
public interface PlacementListener {

  /**
   * @param nodeId the node whose cards were withdrawn
   * @param sessions the sessions that had at least one slice there; never empty
   * @param reason the node event's reason, for the status sent to clients
   */
  void onSlicesLost(String nodeId, Set<SessionId> sessions, String reason);
}
