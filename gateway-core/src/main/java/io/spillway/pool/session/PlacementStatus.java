package io.spillway.pool.session;

import io.grpc.Status;
import io.spillway.pool.placement.Placement;

/**
 * The status a gateway sends for a rejected placement, as the placement package documents it: no room,
 * no matching card and an exceeded quota are {@code RESOURCE_EXHAUSTED} (retry policies and spilling act
 * on it), a session id that already holds slices is {@code ALREADY_EXISTS} (more room would not help).
 */
final class PlacementStatus {

  private PlacementStatus() {}

  static Status of(Placement.Rejected rejected) {
    return switch (rejected.reason()) {
      case NO_MATCHING_GPU, NO_CAPACITY, QUOTA_EXCEEDED -> Status.RESOURCE_EXHAUSTED;
      case DUPLICATE_SESSION -> Status.ALREADY_EXISTS;
    };
  }
}
