package io.spillway.node;

/**
 * Settings of a GPU node. See docs/configuration.md for the keys that set them.
 *
 * @param nodeId the node's name in the pool (unique per pool)
 * @param pool the pool it serves, for example {@code edge/east} or {@code center}
 * @param reserveBytes memory kept free on every card, never given to slices
 * @param chunkBytes the chunk size the node advises for writes and uses for read replies
 * @param maxFrameBytes the largest inbound frame accepted
 * @param launchWaitMillis how long a launch may wait for its turn on a busy GPU before it fails
 * @param limits what one frame, session or connection may take of the node
 */
public record NodeOptions(String nodeId, String pool, long reserveBytes, int chunkBytes, int maxFrameBytes,
    long launchWaitMillis, NodeLimits limits) {

  public static final int DEFAULT_CHUNK_BYTES = 1 << 20;
  public static final int DEFAULT_MAX_FRAME_BYTES = 64 << 20;

  public NodeOptions {
    if (chunkBytes < 4096 || chunkBytes > maxFrameBytes / 2) {
      throw new IllegalArgumentException("chunkBytes " + chunkBytes
          + " must be at least 4096 and at most half of maxFrameBytes (" + maxFrameBytes + ")");
    }
    if (reserveBytes < 0) {
      throw new IllegalArgumentException("reserveBytes must be >= 0, got " + reserveBytes);
    }
    if (limits == null) {
      throw new IllegalArgumentException("limits must be set");
    }
    if (limits.replyFrameBytes() > maxFrameBytes) {
      throw new IllegalArgumentException("reply-frame-bytes " + limits.replyFrameBytes()
          + " must be at most max-frame-bytes " + maxFrameBytes);
    }
  }

  /** The node with the default {@link NodeLimits}. */
  public NodeOptions(String nodeId, String pool, long reserveBytes, int chunkBytes, int maxFrameBytes,
      long launchWaitMillis) {
    this(nodeId, pool, reserveBytes, chunkBytes, maxFrameBytes, launchWaitMillis, NodeLimits.defaults());
  }

  public NodeOptions withLimits(NodeLimits limits) {
    return new NodeOptions(nodeId, pool, reserveBytes, chunkBytes, maxFrameBytes, launchWaitMillis, limits);
  }

  public static NodeOptions defaults(String nodeId) {
    return new NodeOptions(nodeId, "local", 0, DEFAULT_CHUNK_BYTES, DEFAULT_MAX_FRAME_BYTES, 60_000);
  }
}
