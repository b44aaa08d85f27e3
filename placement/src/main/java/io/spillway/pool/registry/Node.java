package io.spillway.pool.registry;

import io.spillway.pool.model.GpuSpec;
import java.time.Instant;
import java.util.List;

/**
 * An immutable snapshot of one node as the registry saw it at one moment.
 *
 * @param id the node id
 * @param address {@code host:port} of its session service
 * @param pool the pool it registered in
 * @param gpus its cards, sorted by index
 * @param state UP or DOWN
 * @param generation increases by one each time the node (re)joins with a fresh start: first
 *     registration, rejoin after DOWN, or a registration that replaced a different one. Slices and
 *     sessions from an older generation never carry over to a newer one.
 * @param registeredAt when this generation registered
 * @param lastHeartbeat the last registration or heartbeat accepted from it
 */
public record Node(
    String id,
    String address,
    String pool,
    List<GpuSpec> gpus,
    NodeState state,
    long generation,
    Instant registeredAt,
    Instant lastHeartbeat) {

  public Node {
    gpus = List.copyOf(gpus);
  }

  public boolean isUp() {
    return state == NodeState.UP;
  }
}
