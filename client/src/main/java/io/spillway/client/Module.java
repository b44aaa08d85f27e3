package io.spillway.client;

/**
 * A module (PTX or cubin) loaded by {@link GpuSession#loadModule}.
 *
 * @param handle the session-local handle
 * @param name   the name given at load, used in logs and errors
 */
public record Module(long handle, String name) {
}
