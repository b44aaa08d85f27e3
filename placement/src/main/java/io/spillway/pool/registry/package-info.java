/**
 * Which GPU servers are in the pool and whether they are alive.
 *
 * <p>{@link io.spillway.pool.registry.NodeRegistry} is the entry point; gateways translate their
 * registration and heartbeat messages into {@link io.spillway.pool.registry.NodeRegistration} and
 * {@link io.spillway.pool.registry.NodeRegistry#heartbeat(String)}, and react to
 * {@link io.spillway.pool.registry.NodeListener} events.
 */
package io.spillway.pool.registry;
