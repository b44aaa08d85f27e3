package io.spillway.edge;

import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.gateway.SessionInfo;
import io.spillway.pool.placement.GpuView;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.placement.SessionView;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.registry.Node;
import io.spillway.pool.registry.NodeState;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** Read-only views of the pool and of the sessions the gateway forwards. */
@Path("/")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "pool", description = "The GPUs, nodes and sessions of this gateway's pool")
public class PoolResource {

  @Inject
  GatewayCore core;

  @Inject
  EdgeGateway edge;

  @GET
  @Path("pool")
  @Operation(summary = "The pool now",
      description = "Every card of every known node (a DOWN node's cards are listed empty), the nodes, "
          + "totals, and the sessions holding slices, from one consistent snapshot of the placer.")
  public PoolDto pool() {
    PoolSnapshot snapshot = core.placer().snapshot();
    List<GpuDto> gpus = snapshot.gpus().stream().map(GpuDto::of).toList();
    List<NodeDto> nodes = core.registry().nodes().stream().map(NodeDto::of).toList();
    List<GpuView> up = snapshot.gpus().stream().filter(g -> g.nodeState() == NodeState.UP).toList();
    TotalsDto totals = new TotalsDto(gpus.size(), up.size(),
        up.stream().mapToLong(GpuView::memoryFreeBytes).sum(), snapshot.busyCardMemoryUtilization());
    List<PlacedSessionDto> sessions = snapshot.sessions().stream().map(PlacedSessionDto::of).toList();
    SpillDto spill = edge.spillView().map(SpillDto::of).orElse(null);
    return new PoolDto(gpus, nodes, totals, sessions, spill);
  }

  @GET
  @Path("sessions")
  @Operation(summary = "Sessions being forwarded",
      description = "Every open session with its slices and forwarding counters, oldest first.")
  public List<SessionDto> sessions() {
    return core.sessions().stream()
        .sorted(Comparator.comparing(SessionInfo::openedAt).thenComparing(SessionInfo::id))
        .map(SessionDto::of)
        .toList();
  }

  @Schema(description = "The pool at one instant")
  public record PoolDto(List<GpuDto> gpus, List<NodeDto> nodes, TotalsDto totals,
      List<PlacedSessionDto> sessions,
      @Schema(description = "The way to the center; null when spilling is off") SpillDto spill) {}

  @Schema(description = "Where spilled sessions go and whether the center's circuit breaker lets them")
  public record SpillDto(
      @Schema(description = "Center replicas, most preferred first") List<String> centers,
      @Schema(description = "The replica the next spill names (not reported unreachable lately)")
      String preferredCenter,
      @Schema(description = "CLOSED (spilling), OPEN (the center is considered down: spills fail fast) or "
          + "HALF_OPEN (probing)") String circuitBreaker,
      @Schema(description = "When the breaker entered its state") Instant circuitBreakerSince,
      @Schema(description = "While OPEN: when the next borrow may probe the center") Instant probeAt) {

    static SpillDto of(EdgeGateway.SpillView v) {
      return new SpillDto(v.centers(), v.preferredCenter(), v.circuitBreaker().state(),
          v.circuitBreaker().since(), v.circuitBreaker().probeAt());
    }
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

  @Schema(description = "A session as the placer holds it")
  public record PlacedSessionDto(String id, String tenant, List<SliceDto> slices,
      @Schema(description = "Slices lost to nodes going down; a session with any is ending") int lostSlices) {

    static PlacedSessionDto of(SessionView s) {
      return new PlacedSessionDto(s.sessionId().value(), s.tenant(),
          s.slices().stream().map(SliceDto::of).toList(), s.lostSlices());
    }
  }

  @Schema(description = "One card's share held by a session")
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
