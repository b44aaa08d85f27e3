package io.spillway.pool.placement;

/**
 * One card's share held by one session.
 *
 * @param nodeId the node the card is on
 * @param address the node's {@code host:port}, where the gateway opens the session
 * @param gpuIndex the card's device ordinal on that node
 * @param gpuUuid the card's UUID (what the gateway pins the session to on the node)
 * @param model the card's model
 * @param memoryBytes memory reserved for the session on this card
 * @param computePercent compute share reserved on this card
 */
public record Slice(
    String nodeId,
    String address,
    int gpuIndex,
    String gpuUuid,
    String model,
    long memoryBytes,
    int computePercent) {

  @Override
  public String toString() {
    return nodeId + " gpu " + gpuIndex + " (" + model + "): " + Sizes.bytes(memoryBytes) + " / "
        + computePercent + "%";
  }
}
