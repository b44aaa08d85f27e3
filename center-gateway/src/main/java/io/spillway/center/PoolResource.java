package io.spillway.center;

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
    return new PoolDto(PoolViews.gpus(snapshot), PoolViews.nodes(core), PoolViews.totals(snapshot),
        PoolViews.placed(snapshot));
  }

  @GET
  @Path("sessions")
  @Operation(summary = "Sessions being forwarded",
      description = "Every open session (opened by an edge under a lease) with its slices and counters, oldest "
          + "first.")
  public List<SessionDto> sessions() {
    return PoolViews.sessions(core);
  }

  @Schema(description = "The pool at one instant")
  public record PoolDto(List<GpuDto> gpus, List<NodeDto> nodes, TotalsDto totals, List<PlacedDto> sessions) {}
}
