package io.spillway.simulator;

/**
 * One simulated card.
 *
 * @param pool the edge's name, or {@code center}
 * @param nodeId the GPU server's name in the topology
 * @param gpuIndex the card's index on the server, counting groups in file order
 * @param model the card's model
 * @param limitBytes memory slices may use: card memory less reserve
 */
public record CardInfo(String pool, String nodeId, int gpuIndex, String model, long limitBytes) {

  /** {@code edge-east/east-gpu-1/3}. */
  public String id() {
    return pool + "/" + nodeId + "/" + gpuIndex;
  }
}
