package io.spillway.pool.model;

import java.util.Objects;

/**
 * One GPU as its node reports it at registration.
 *
 * <p>{@code memoryReserveBytes} is kept back on the card for the driver and the node's own contexts; no
 * slice may use it, so the memory a card can hand out is {@link #memoryLimitBytes()} = total − reserve.
 *
 * @param index the CUDA device ordinal on its node (0-based); unique within a node
 * @param uuid the device UUID as the driver reports it (for example {@code GPU-8a1e...}); unique in the pool
 * @param model the model label matched by slice requests (for example {@code V100}); compared
 *     case-insensitively
 * @param memoryBytes total device memory
 * @param computeCapability for example {@code 7.0}; informational
 * @param memoryReserveBytes memory kept back on this card, {@code 0 <= reserve < memoryBytes}
 * @param maxSessions sessions the node lets this card hold however small their slices (its
 *     max-sessions-per-card); 0 when the node does not say
 */
public record GpuSpec(
    int index,
    String uuid,
    String model,
    long memoryBytes,
    String computeCapability,
    long memoryReserveBytes,
    int maxSessions) {

  /** A card whose node sets no session cap. */
  public GpuSpec(int index, String uuid, String model, long memoryBytes, String computeCapability,
      long memoryReserveBytes) {
    this(index, uuid, model, memoryBytes, computeCapability, memoryReserveBytes, 0);
  }

  public GpuSpec {
    Objects.requireNonNull(uuid, "uuid");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(computeCapability, "computeCapability");
    if (index < 0) {
      throw new IllegalArgumentException("gpu index must be >= 0, got " + index);
    }
    if (uuid.isBlank()) {
      throw new IllegalArgumentException("gpu " + index + ": uuid must not be blank");
    }
    if (model.isBlank()) {
      throw new IllegalArgumentException("gpu " + index + " (" + uuid + "): model must not be blank");
    }
    if (memoryBytes <= 0) {
      throw new IllegalArgumentException(
          "gpu " + index + " (" + uuid + "): memoryBytes must be > 0, got " + memoryBytes);
    }
    if (memoryReserveBytes < 0 || memoryReserveBytes >= memoryBytes) {
      throw new IllegalArgumentException(
          "gpu " + index + " (" + uuid + "): memoryReserveBytes must be in [0, " + memoryBytes
              + "), got " + memoryReserveBytes);
    }
    if (maxSessions < 0) {
      throw new IllegalArgumentException("gpu " + index + " (" + uuid + "): maxSessions must be >= 0, got "
          + maxSessions);
    }
  }

  /** Memory that slices on this card may add up to: total less the reserve. Always {@code > 0}. */
  public long memoryLimitBytes() {
    return memoryBytes - memoryReserveBytes;
  }
}
