package io.spillway.client;

/**
 * One GPU slice of a session: where it lives and what it may use.
 *
 * @param index            the session's index of this GPU (the {@code device} of alloc and launch)
 * @param pool             the pool that holds the slice: {@code "edge/<site>"} or {@code "center"}
 * @param node             the GPU server
 * @param gpuUuid          the card
 * @param model            the card's model, for example {@code "V100"}
 * @param memoryLimitBytes the slice's memory quota on this card
 * @param computePercent   the slice's share of the card's compute
 * @param cardMemoryBytes  the card's total memory
 * @param driver           the driver that runs the slice on the node (for example {@code "jcuda"} or {@code "host"})
 */
public record DeviceInfo(int index, String pool, String node, String gpuUuid, String model,
             long memoryLimitBytes, int computePercent, long cardMemoryBytes, String driver) {
}
