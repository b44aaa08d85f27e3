/**
 * The pool model shared by the edge and center gateways and the simulator, without gRPC.
 *
 * <ul>
 *   <li>{@link io.spillway.pool.model}: values every package speaks of (GPU description, session id).
 *   <li>{@link io.spillway.pool.registry}: which GPU servers are in the pool and alive.
 *   <li>{@link io.spillway.pool.placement}: slicing live GPUs among sessions, with tenant quotas.
 *   <li>{@link io.spillway.pool.time}: a manual clock for tests that advance time instead of sleeping.
 * </ul>
 *
 * <p>Wiring, done once by a gateway:
 *
 * <pre>{@code
 * NodeRegistry registry = new NodeRegistry(Duration.ofSeconds(15), InstantSource.system());
 * SlicePlacer placer = new SlicePlacer(TenantQuotas.unlimited());
 * placer.addListener((nodeId, sessions, reason) -> failWithUnavailable(sessions, reason));
 * registry.addListener(placer);   // the placer now follows nodes going up and down
 * }</pre>
 *
 * <p>Nothing here depends on gRPC or protobuf; the gateways translate their messages into these types.
 */
package io.spillway.pool;
