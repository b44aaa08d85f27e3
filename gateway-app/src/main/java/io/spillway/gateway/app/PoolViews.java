package io.spillway.gateway.app;

import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.placement.SessionView;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.registry.Node;
import io.spillway.pool.registry.NodeState;
import io.spillway.pool.session.SessionInfo;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * The views both gateways answer {@code GET /pool} and {@code GET /sessions} with, in one shape so that
 * one client (the console, an operator's script) reads the edge and the center alike. Each app's
 * {@code PoolDto} adds what is its own (the edge: the way to the center).
 */
public final class PoolViews {

  private PoolViews() {}

  /** Every card of every known node; a DOWN node's cards are listed empty. */
  public static List<GpuDto> gpus(PoolSnapshot snapshot) {
    return snapshot.gpus().stream().map(GpuDto::of).toList();
  }

  public static List<NodeDto> nodes(GatewayCore core) {
    return core.registry().nodes().stream().map(NodeDto::of).toList();
  }

  /** Totals over the cards of UP nodes. */
  public static TotalsDto totals(PoolSnapshot snapshot) {
    List<GpuView> up = snapshot.gpus().stream().filter(g -> g.nodeState() == NodeState.UP).toList();
    return new TotalsDto(snapshot.gpus().size(), up.size(), up.stream().mapToLong(GpuView::memoryFreeBytes).sum(),
        snapshot.busyCardMemoryUtilization());
  }

  /** What holds slices in the placer. */
  public static List<PlacedDto> placed(PoolSnapshot snapshot) {
    return snapshot.sessions().stream().map(PlacedDto::of).toList();
  }

  /** Every open session with its slices and counters, oldest first. */
  public static List<SessionDto> sessions(GatewayCore core) {
    return core.sessions().stream()
        .sorted(Comparator.comparing(SessionInfo::openedAt).thenComparing(SessionInfo::id))
        .map(SessionDto::of)
        .toList();
  }

  @Schema(description = "One card as the placer sees it")
  public record GpuDto(
      String node,
      String address,
      String pool,
      @Schema(description = "UP or DOWN; a DOWN node's cards hold no slices") NodeState nodeState,
      int gpuIndex,
      String uuid,
      String model,
      long memoryTotalBytes,
      @Schema(description = "Memory the node keeps back; never given to slices") long memoryReserveBytes,
      long memoryAllocatedBytes,
      @Schema(description = "Total less reserve less allocated") long memoryFreeBytes,
      int computeAllocatedPercent,
      int sessions) {

    static GpuDto of(GpuView g) {
      return new GpuDto(g.nodeId(), g.address(), g.pool(), g.nodeState(), g.gpuIndex(), g.uuid(), g.model(),
          g.memoryTotalBytes(), g.memoryReserveBytes(), g.memoryAllocatedBytes(), g.memoryFreeBytes(),
          g.computeAllocatedPercent(), g.sessionCount());
    }
  }

  @Schema(description = "A registered GPU server")
  public record NodeDto(String id, String address, String pool, NodeState state,
      @Schema(description = "Increases each time the node rejoins with a fresh start") long generation,
      int gpus, Instant registeredAt, Instant lastHeartbeat) {

    static NodeDto of(Node n) {
      return new NodeDto(n.id(), n.address(), n.pool(), n.state(), n.generation(), n.gpus().size(),
          n.registeredAt(), n.lastHeartbeat());
    }
  }

  @Schema(description = "Pool totals")
  public record TotalsDto(
      int cards,
      int cardsUp,
      @Schema(description = "Free memory summed over the cards of UP nodes") long memoryFreeBytes,
      @Schema(description = "Allocated over limit, summed over UP cards holding a slice; 0..1")
      double busyCardMemoryUtilization) {}

  @Schema(description = "What holds slices in the placer: a session or, on the center, a lease (id lease-...)")
  public record PlacedDto(String id, String tenant, List<SliceDto> slices,
      @Schema(description = "Slices lost to nodes going down; a session with any is ending") int lostSlices) {

    static PlacedDto of(SessionView s) {
      return new PlacedDto(s.sessionId().value(), s.tenant(),
          s.slices().stream().map(SliceDto::of).toList(), s.lostSlices());
    }
  }

  @Schema(description = "One card's share held by a session or a lease")
  public record SliceDto(String node, int gpuIndex, String uuid, String model, long memoryBytes,
      int computePercent) {

    static SliceDto of(Slice s) {
      return new SliceDto(s.nodeId(), s.gpuIndex(), s.gpuUuid(), s.model(), s.memoryBytes(),
          s.computePercent());
    }
  }

  @Schema(description = "A session being forwarded, with its counters")
  public record SessionDto(String id, String tenant, String client, String node, List<SliceDto> slices,
      Instant openedAt, long ops, long bytesUp, long bytesDown, long errors,
      @Schema(description = "Whether the gateway could rebuild the session on another slice now "
          + "(docs/failover.md)") boolean replayable,
      @Schema(description = "Why not, when it could not") String notReplayableReason,
      @Schema(description = "Bytes the gateway's journal holds for the session") long journalBytes,
      @Schema(description = "Times the session was rebuilt on another slice") int replays,
      @Schema(description = "The last move, from -> to") String lastMove) {

    static SessionDto of(SessionInfo s) {
      return new SessionDto(s.id(), s.tenant(), s.clientName(), s.nodeId(),
          s.slices().stream().map(SliceDto::of).toList(), s.openedAt(), s.opsForwarded(), s.bytesUp(),
          s.bytesDown(), s.errors(), s.replayable(), s.notReplayableReason(), s.journalBytes(), s.replays(),
          s.lastMove());
    }
  }
}
