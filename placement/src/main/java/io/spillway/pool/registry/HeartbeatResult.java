package io.spillway.pool.registry;

/**
 * Answer to {@link NodeRegistry#heartbeat(String)}: either accepted, or a clear instruction to register
 * first. Never an exception, because a node that restarts or was marked down must be told what to do.
 */
public sealed interface HeartbeatResult {

  /** The heartbeat was recorded; {@code node} is the node after the update. */
  record Accepted(Node node) implements HeartbeatResult {}

  /**
   * The registry will not accept heartbeats from this node until it registers (again). The node is
   * either unknown (registry restarted, or the node never registered) or was marked DOWN.
   *
   * @param message for the node's log and the wire status, for example {@code "node node-a is not
   *     registered with this gateway; send a registration before heartbeats"}
   */
  record RegisterFirst(String nodeId, String message) implements HeartbeatResult {}
}
