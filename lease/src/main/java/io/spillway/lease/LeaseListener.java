package io.spillway.lease;

import io.spillway.protocol.v1.Lease;

/**
 * Hears an edge's leases change as the lease log records them: granted, renewed, draining (revoked by
 * an admin: move the sessions off, then release), and ended (released, expired, revoked).
 *
 * <p>Threading: called on the {@link LeaseClient}'s log reader thread, in log order. Return quickly;
 * hand session moves to an executor. An exception is logged and does not stop the reader.
 */
@FunctionalInterface
public interface LeaseListener {

  /**
   * @param previous the lease's record before this one, or null for its first record seen
   * @param current the new record; {@code current.getEpoch() > previous.getEpoch()}
   */
  void onLeaseChanged(Lease previous, Lease current);
}
