package io.spillway.center;

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

/**
 * Read-only views of the center's pool and of the sessions edges run on it, in the edge gateway's
 * shapes (same field names), so one client reads both. On the center the placer also holds one
 * "session" per live lease (id = lease id, tenant = edge): leases and sessions share its book.
 */
@Path("/")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "pool", description = "The GPUs, nodes and sessions of the center pool")
public class PoolResource {

  @Inject
  GatewayCore core;

  @GET
  @Path("pool")
  @Operation(summary = "The center pool now",
      description = "Every card of every known node, the nodes, totals, and what holds slices (leases and "
          + "the sessions under them), from one snapshot of the placer.")
  public PoolDto pool() {
    PoolSnapshot snapshot = core.placer().snapshot();
    List<GpuView> up = snapshot.gpus().stream().filter(g -> g.nodeState() == NodeState.UP).toList();
    return new PoolDto(
        snapshot.gpus().stream().map(GpuDto::of).toList(),
        core.registry().nodes().stream().map(NodeDto::of).toList(),
        new TotalsDto(snapshot.gpus().size(), up.size(), up.stream().mapToLong(GpuView::memoryFreeBytes).sum(),
            snapshot.busyCardMemoryUtilization()),
        snapshot.sessions().stream().map(PlacedDto::of).toList());
  }

  @GET
  @Path("sessions")
  @Operation(summary = "Sessions being forwarded",
      description = "Every open session (opened by an edge under a lease) with its slices and counters, oldest "
          + "first.")
  public List<SessionDto> sessions() {
    return core.sessions().stream()
        .sorted(Comparator.comparing(SessionInfo::openedAt).thenComparing(SessionInfo::id))
        .map(SessionDto::of).toList();
  }

  @Schema(description = "The pool at one instant")
  public record PoolDto(List<GpuDto> gpus, List<NodeDto> nodes, TotalsDto totals, List<PlacedDto> sessions) {}

  @Schema(description = "One card as the placer sees it")
  public record GpuDto(String node, String address, String pool, NodeState nodeState, int gpuIndex, String uuid,
      String model, long memoryTotalBytes, long memoryReserveBytes, long memoryAllocatedBytes,
      long memoryFreeBytes, int computeAllocatedPercent, int sessions) {
    static GpuDto of(GpuView g) {
      return new GpuDto(g.nodeId(), g.address(), g.pool(), g.nodeState(), g.gpuIndex(), g.uuid(), g.model(),
          g.memoryTotalBytes(), g.memoryReserveBytes(), g.memoryAllocatedBytes(), g.memoryFreeBytes(),
          g.computeAllocatedPercent(), g.sessionCount());
    }
  }

  @Schema(description = "A registered GPU server")
  public record NodeDto(String id, String address, String pool, NodeState state, long generation, int gpus,
      Instant registeredAt, Instant lastHeartbeat) {
    static NodeDto of(Node n) {
      return new NodeDto(n.id(), n.address(), n.pool(), n.state(), n.generation(), n.gpus().size(),
          n.registeredAt(), n.lastHeartbeat());
    }
  }

  @Schema(description = "Pool totals")
  public record TotalsDto(int cards, int cardsUp, long memoryFreeBytes, double busyCardMemoryUtilization) {}

  @Schema(description = "What holds slices in the placer: a lease (id lease-...) or a session")
  public record PlacedDto(String id, String tenant, List<SliceDto> slices, int lostSlices) {
    static PlacedDto of(SessionView s) {
      return new PlacedDto(s.sessionId().value(), s.tenant(), s.slices().stream().map(SliceDto::of).toList(),
          s.lostSlices());
    }
  }

  @Schema(description = "One card's share")
  public record SliceDto(String node, int gpuIndex, String uuid, String model, long memoryBytes,
      int computePercent) {
    static SliceDto of(Slice s) {
      return new SliceDto(s.nodeId(), s.gpuIndex(), s.gpuUuid(), s.model(), s.memoryBytes(), s.computePercent());
    }
  }

  @Schema(description = "A session being forwarded, with its counters")
  public record SessionDto(String id, String tenant, String client, String node, List<SliceDto> slices,
      Instant openedAt, long ops, long bytesUp, long bytesDown, long errors) {
    static SessionDto of(SessionInfo s) {
      return new SessionDto(s.id(), s.tenant(), s.clientName(), s.nodeId(),
          s.slices().stream().map(SliceDto::of).toList(), s.openedAt(), s.opsForwarded(), s.bytesUp(),
          s.bytesDown(), s.errors());
    }
  }
}
