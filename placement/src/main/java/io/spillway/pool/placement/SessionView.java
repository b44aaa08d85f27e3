package io.spillway.pool.placement;

import io.spillway.pool.model.SessionId;
import java.util.List;

/**
 * One session as the placer holds it.
 *
 * @param slices the slices it still holds
 * @param lostSlices slices it lost to nodes going down since it was placed; a session with any is
 *     broken and waiting for the gateway to release it
 */
public record SessionView(SessionId sessionId, String tenant, List<Slice> slices, int lostSlices) {

  public SessionView {
    slices = List.copyOf(slices);
  }

  public long memoryBytes() {
    return slices.stream().mapToLong(Slice::memoryBytes).sum();
  }
}
