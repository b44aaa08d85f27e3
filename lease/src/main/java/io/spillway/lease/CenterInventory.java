package io.spillway.lease;

import io.spillway.pool.model.GpuSpec;
import io.spillway.pool.placement.CardCapacity;
import io.spillway.pool.registry.Node;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The center GPUs leases may be granted on, by UUID. The lease leader checks every grant against it and
 * {@link LeaseLogChecker} replays the log against it.
 */
public final class CenterInventory {

  /** One center card. */
  public record Card(String nodeId, String address, GpuSpec spec) {
    /** Memory leases on this card may add up to: total less the reserve. */
    public long memoryLimitBytes() {
      return spec.memoryLimitBytes();
    }

    /** The card rule leases on this card obey, as sessions on it do. */
    public CardCapacity capacity() {
      return new CardCapacity(spec.memoryLimitBytes());
    }
  }

  private final Map<String, Card> byUuid;

  private CenterInventory(Map<String, Card> byUuid) {
    this.byUuid = byUuid;
  }

  /** @throws IllegalArgumentException if two cards share a UUID */
  public static CenterInventory of(Collection<Node> nodes) {
    Map<String, Card> cards = new LinkedHashMap<>();
    for (Node node : nodes) {
      for (GpuSpec gpu : node.gpus()) {
        Card previous = cards.put(gpu.uuid(), new Card(node.id(), node.address(), gpu));
        if (previous != null) {
          throw new IllegalArgumentException("gpu uuid " + gpu.uuid() + " is on both node "
              + previous.nodeId() + " and node " + node.id());
        }
      }
    }
    return new CenterInventory(Map.copyOf(cards));
  }

  public Optional<Card> card(String gpuUuid) {
    return Optional.ofNullable(byUuid.get(gpuUuid));
  }

  public List<Card> cards() {
    return List.copyOf(new ArrayList<>(byUuid.values()));
  }
}
