package io.spillway.pool.session;

import io.grpc.Status;

/**
 * What a gateway reports as it forwards sessions; the Quarkus apps turn it into metrics. Called on
 * transport threads: implementations must be fast and must not block.
 */
public interface GatewayListener {

  GatewayListener NONE = new GatewayListener() {};

  default void sessionOpened(SessionInfo session) {}

  default void sessionClosed(SessionInfo session, Status status) {}

  /** An open that was refused before reaching a node (quota, no capacity, bad request). */
  default void openRefused(String tenant, Status.Code code) {}

  /** A session the local pool could not take was opened on the center under a lease. */
  default void spilled(String tenant) {}

  /** A client frame went to the node: its ops and bytes. */
  default void forwardedUp(String tenant, int ops, long bytes) {}

  /** A node frame went to the client: its replies, bytes, and how many replies were errors. */
  default void forwardedDown(String tenant, int replies, long bytes, int errors) {}

  /** A synchronizing op (read, synchronize, close) was answered, {@code nanos} after the gateway sent it. */
  default void answered(String tenant, long nanos) {}

  /** A session was rebuilt on another slice, {@code gapNanos} after its upstream was lost. */
  default void sessionReplayed(String tenant, long gapNanos) {}

  /** A session whose upstream was lost could not be rebuilt and ended. */
  default void replayFailed(String tenant, String reason) {}

  /** A spilled session moved back to the local pool. */
  default void failedBack(String tenant) {}
}
