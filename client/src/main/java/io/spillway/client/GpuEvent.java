package io.spillway.client;

/**
 * An event of one session, created by {@link GpuSession#createEvent}: a point in the session's operation
 * order whose time the node takes when every earlier operation has run. The id is chosen by the SDK and
 * is meaningful only within its session.
 */
public interface GpuEvent {
  int id();
}
