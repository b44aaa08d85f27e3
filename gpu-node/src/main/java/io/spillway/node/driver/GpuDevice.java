package io.spillway.node.driver;

/**
 * One GPU as the node presents it.
 *
 * @param index 0-based position in {@link GpuDriver#devices()}
 * @param uuid stable identifier of the card (the CUDA UUID on real GPUs)
 * @param model the model label placement matches against, for example {@code "V100"} or {@code "H200"}
 * @param memoryBytes total device memory
 * @param computeCapability for example {@code "9.0"}; {@code "host"} for the host driver
 */
public record GpuDevice(int index, String uuid, String model, long memoryBytes, String computeCapability) {}
