package io.spillway.pool.session;

import io.spillway.pool.placement.Slice;
import java.time.Instant;
import java.util.List;

/**
 * A forwarded session as the gateway sees it, for REST and metrics.
 *
 * @param id the session id the client was given
 * @param nodeId the node the session's stream goes to, or {@code center} for a spilled session
 * @param nodeSessionId the id of the session on the node
 * @param slices where it runs
 * @param opsForwarded ops sent to the node so far
 * @param bytesUp bytes of client frames forwarded
 * @param bytesDown bytes of node frames forwarded
 * @param errors error replies seen
 * @param replayable whether the gateway could rebuild the session on another slice now
 * @param notReplayableReason why not, when it could not; empty otherwise
 * @param journalBytes bytes the gateway's journal holds for the session
 * @param replays times the session was rebuilt on another slice
 * @param lastMove the last move, "from -> to" (empty if none)
 */
public record SessionInfo(String id, String tenant, String clientName, String nodeId, String nodeSessionId,
    List<Slice> slices, Instant openedAt, long opsForwarded, long bytesUp, long bytesDown, long errors,
    boolean replayable, String notReplayableReason, long journalBytes, int replays, String lastMove) {

  public SessionInfo {
    slices = List.copyOf(slices);
  }

  public long memoryBytes() {
    return slices.stream().mapToLong(Slice::memoryBytes).sum();
  }
}
