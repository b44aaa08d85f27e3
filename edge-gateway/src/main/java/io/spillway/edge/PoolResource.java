package io.spillway.edge;

import io.spillway.gateway.app.PoolViews;
import io.spillway.gateway.app.PoolViews.GpuDto;
import io.spillway.gateway.app.PoolViews.NodeDto;
import io.spillway.gateway.app.PoolViews.PlacedDto;
import io.spillway.gateway.app.PoolViews.SessionDto;
import io.spillway.gateway.app.PoolViews.TotalsDto;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.placement.PoolSnapshot;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.time.Instant;
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
    SpillDto spill = edge.spillView().map(SpillDto::of).orElse(null);
    return new PoolDto(PoolViews.gpus(snapshot), PoolViews.nodes(core), PoolViews.totals(snapshot),
        PoolViews.placed(snapshot), spill);
  }

  @GET
  @Path("sessions")
  @Operation(summary = "Sessions being forwarded",
      description = "Every open session with its slices and forwarding counters, oldest first.")
  public List<SessionDto> sessions() {
    return PoolViews.sessions(core);
  }

  @Schema(description = "The pool at one instant")
  public record PoolDto(List<GpuDto> gpus, List<NodeDto> nodes, TotalsDto totals,
      List<PlacedDto> sessions,
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
}
