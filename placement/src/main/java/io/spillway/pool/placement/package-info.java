/**
 * Slicing live GPUs among sessions.
 *
 * <p>A slice is (GPU, memory bytes, compute percent). {@link io.spillway.pool.placement.SlicePlacer}
 * places a session's {@link io.spillway.pool.placement.SliceRequest} on one or more cards and keeps, on
 * every card at every moment, the sum of slice memory at or below the card's memory less its reserve,
 * and the sum of compute percent at or below 100. It follows the
 * {@link io.spillway.pool.registry.NodeRegistry} as a {@link io.spillway.pool.registry.NodeListener}
 * and reports sessions that lost slices to {@link io.spillway.pool.placement.PlacementListener}s.
 *
 * <p>Status codes a gateway should send for a {@link io.spillway.pool.placement.Placement.Rejected}:
 * {@code RESOURCE_EXHAUSTED} for NO_CAPACITY, NO_MATCHING_GPU and QUOTA_EXCEEDED (an edge may spill the
 * first two to the center), {@code ALREADY_EXISTS} for DUPLICATE_SESSION; the description is the
 * rejection's message.
 */
package io.spillway.pool.placement;
