package io.spillway.pool.registry;

import io.spillway.pool.model.GpuSpec;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a GPU server says about itself when it joins (or rejoins) the pool.
 *
 * <p>Validated on construction: a non-blank id and pool, an address of the form {@code host:port}, at
 * least one GPU, and GPU indexes and UUIDs unique within the node. The GPU list is kept sorted by index,
 * so two registrations of the same cards compare equal whatever order the node listed them in.
 *
 * @param nodeId stable name of the server, unique in the pool (for example {@code node-a})
 * @param address where the gateway reaches the node's session service, {@code host:port}
 * @param pool the pool the node belongs to (for example {@code edge-1})
 * @param gpus the cards the node offers
 */
public record NodeRegistration(String nodeId, String address, String pool, List<GpuSpec> gpus) {

  public NodeRegistration {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(gpus, "gpus");
    if (nodeId.isBlank()) {
      throw new IllegalArgumentException("nodeId must not be blank");
    }
    if (pool.isBlank()) {
      throw new IllegalArgumentException("node " + nodeId + ": pool must not be blank");
    }
    checkAddress(nodeId, address);
    if (gpus.isEmpty()) {
      throw new IllegalArgumentException("node " + nodeId + " registered no GPUs; expected at least one");
    }
    Set<Integer> indexes = new HashSet<>();
    Set<String> uuids = new HashSet<>();
    for (GpuSpec gpu : gpus) {
      Objects.requireNonNull(gpu, "gpu");
      if (!indexes.add(gpu.index())) {
        throw new IllegalArgumentException("node " + nodeId + ": gpu index " + gpu.index() + " listed twice");
      }
      if (!uuids.add(gpu.uuid())) {
        throw new IllegalArgumentException("node " + nodeId + ": gpu uuid " + gpu.uuid() + " listed twice");
      }
    }
    gpus = gpus.stream().sorted(Comparator.comparingInt(GpuSpec::index)).toList();
  }

  private static void checkAddress(String nodeId, String address) {
    int colon = address.lastIndexOf(':');
    String problem = null;
    if (colon <= 0 || colon == address.length() - 1) {
      problem = "expected host:port";
    } else {
      try {
        int port = Integer.parseInt(address.substring(colon + 1));
        if (port < 1 || port > 65535) {
          problem = "port must be in 1..65535";
        }
      } catch (NumberFormatException e) {
        problem = "port is not a number";
      }
    }
    if (problem != null) {
      throw new IllegalArgumentException(
          "node " + nodeId + ": address '" + address + "' is invalid: " + problem);
    }
  }
}
