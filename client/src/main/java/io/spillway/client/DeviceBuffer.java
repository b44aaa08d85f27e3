package io.spillway.client;

/**
 * Device memory allocated by {@link GpuSession#alloc}. The handle is chosen by the SDK and is meaningful
 * only within the session that allocated it; the server checks every access against the allocation.
 *
 * @param handle     the session-local handle
 * @param size       the size in bytes
 * @param device     index of the session's GPU that holds the buffer
 * @param persistent whether gateways journal the buffer's contents to rebuild it on another GPU
 */
public record DeviceBuffer(long handle, long size, int device, boolean persistent) {
}
