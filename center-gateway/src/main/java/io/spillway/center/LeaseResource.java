package io.spillway.center;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.spillway.console.http.Credentials;
import io.spillway.federation.AdminException;
import io.spillway.federation.LeaseAdministration;
import io.spillway.federation.LeaseBook;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseGrantSlice;
import io.spillway.protocol.v1.LeaseState;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * The admin API: the leases of the lease log, revocation, and rebalancing. See docs/admin-api.md.
 *
 * <p>Bodies are parsed here rather than bound by Jackson so that a malformed one is answered with a
 * 400 naming the field, like every other refusal ({@link ApiError}).
 */
@Path("/")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "leases", description = "Center leases: list, revoke, rebalance")
public class LeaseResource {

  /**
   * The header naming who acts when the gateway checks no credentials (spillway.auth.keys unset); with
   * tokens the actor is the token's subject and this header is ignored.
   */
  static final String ACTOR_HEADER = "X-Spillway-Admin";
  static final String ANONYMOUS = "anonymous";
  private static final int MAX_TEXT = 500;

  @Inject
  LeaseBook book;
  @Inject
  LeaseAdministration administration;
  @Inject
  ObjectMapper json;
  @Inject
  Credentials credentials;

  @GET
  @Path("leases")
  @Operation(summary = "Leases in the lease log",
      description = "The latest record of every lease this replica has read from the lease log (ended ones "
          + "included), oldest grant first, optionally only one edge's or one state's.")
  @APIResponse(responseCode = "200", description = "The leases")
  @APIResponse(responseCode = "400", description = "Unknown state", content = @Content(
      schema = @Schema(implementation = ApiError.class)))
  public List<LeaseDto> leases(
      @Parameter(description = "Only this edge's leases") @QueryParam("edge") String edge,
      @Parameter(description = "Only leases in this state: GRANTED, DRAINING, RELEASED, EXPIRED, REVOKED, "
          + "REFUSED (any case)") @QueryParam("state") String state) {
    return book.list(blankToNull(edge), state(state)).stream().map(LeaseDto::of).toList();
  }

  @GET
  @Path("leases/{id}")
  @Operation(summary = "One lease", description = "The latest record of the lease in the lease log.")
  @APIResponse(responseCode = "200", description = "The lease")
  @APIResponse(responseCode = "404", description = "No such lease", content = @Content(
      schema = @Schema(implementation = ApiError.class)))
  public LeaseDto lease(@PathParam("id") String id) {
    return book.get(id).map(LeaseDto::of)
        .orElseThrow(() -> new AdminException(404, "id", "no lease " + id + " in the lease log"));
  }

  @POST
  @Path("leases/{id}/revoke")
  @Consumes(MediaType.APPLICATION_JSON)
  @Operation(summary = "Revoke a lease",
      description = "Orders the lease leader to turn a GRANTED lease DRAINING: its edge moves its sessions off "
          + "and releases it; at the drain deadline it is REVOKED regardless. The DRAINING record carries "
          + "the reason 'revoked by <actor>: <reason>'. Answers once that record is in the lease log (200), "
          + "or with the lease as it was if the leader has not written it in 5 s (202).")
  @RequestBody(required = true, content = @Content(schema = @Schema(implementation = RevokeBody.class)))
  @APIResponse(responseCode = "200", description = "The lease's DRAINING record")
  @APIResponse(responseCode = "202", description = "Ordered; not yet in the lease log (no leader?)")
  @APIResponse(responseCode = "400", description = "Bad body", content = @Content(
      schema = @Schema(implementation = ApiError.class)))
  @APIResponse(responseCode = "404", description = "No such lease", content = @Content(
      schema = @Schema(implementation = ApiError.class)))
  @APIResponse(responseCode = "409", description = "The lease is not GRANTED", content = @Content(
      schema = @Schema(implementation = ApiError.class)))
  public Response revoke(@PathParam("id") String id,
      @Parameter(description = "Who acts, without credentials (default anonymous)") @HeaderParam(ACTOR_HEADER)
      String actor, @HeaderParam("Authorization") String authorization, String body) throws InterruptedException {
    JsonNode node = parse(body);
    String reason = text(node, "reason", true);
    LeaseAdministration.Revoked r = administration.revoke(actor(authorization, actor), id, reason);
    return Response.status(r.applied() ? 200 : 202).entity(LeaseDto.of(r.lease())).build();
  }

  @POST
  @Path("rebalance")
  @Consumes(MediaType.APPLICATION_JSON)
  @Operation(summary = "Free an edge's center memory",
      description = "Revokes fromEdge's GRANTED leases, oldest grant first, until the revoked ones hold at "
          + "least memoryBytes (all of them if they hold less), each with the reason 'rebalance to <toEdge>: "
          + "<reason>'. The freed capacity goes to whichever edge asks next: no reservation is made for "
          + "toEdge.")
  @RequestBody(required = true, content = @Content(schema = @Schema(implementation = RebalanceBody.class)))
  @APIResponse(responseCode = "200", description = "The leases revoked")
  @APIResponse(responseCode = "400", description = "Bad body", content = @Content(
      schema = @Schema(implementation = ApiError.class)))
  @APIResponse(responseCode = "409", description = "fromEdge holds no GRANTED lease", content = @Content(
      schema = @Schema(implementation = ApiError.class)))
  public RebalanceDto rebalance(
      @Parameter(description = "Who acts, without credentials (default anonymous)") @HeaderParam(ACTOR_HEADER)
      String actor, @HeaderParam("Authorization") String authorization, String body) throws InterruptedException {
    JsonNode node = parse(body);
    String from = text(node, "fromEdge", true);
    String to = text(node, "toEdge", true);
    if (from.equals(to)) {
      throw AdminException.badRequest("toEdge", "toEdge is " + to + ", the same as fromEdge");
    }
    JsonNode bytes = node.get("memoryBytes");
    if (bytes == null || !bytes.canConvertToLong() || !bytes.isIntegralNumber() || bytes.asLong() <= 0) {
      throw AdminException.badRequest("memoryBytes", "memoryBytes is " + (bytes == null ? "missing" : bytes)
          + "; it must be a whole number of bytes > 0");
    }
    String reason = text(node, "reason", true);
    LeaseAdministration.Rebalanced r = administration.rebalance(actor(authorization, actor), from, to, bytes.asLong(), reason);
    return new RebalanceDto(from, to, bytes.asLong(), r.revokedBytes(), r.revokedBytes() >= bytes.asLong(),
        r.revoked().stream().map(x -> LeaseDto.of(x.lease())).toList(),
        "the freed capacity goes to whichever edge asks next; nothing is reserved for " + to);
  }

  private JsonNode parse(String body) {
    if (body == null || body.isBlank()) {
      throw AdminException.badRequest("body", "the request has no body; send a JSON object");
    }
    try {
      JsonNode node = json.readTree(body);
      if (node == null || !node.isObject()) {
        throw AdminException.badRequest("body", "the body must be a JSON object");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw AdminException.badRequest("body", "the body is not JSON: " + e.getOriginalMessage());
    }
  }

  private static String text(JsonNode node, String field, boolean required) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      if (required) {
        throw AdminException.badRequest(field, field + " is missing; it must be a non-empty string");
      }
      return null;
    }
    if (!value.isTextual() || value.asText().isBlank()) {
      throw AdminException.badRequest(field, field + " is " + value + "; it must be a non-empty string");
    }
    if (value.asText().length() > MAX_TEXT) {
      throw AdminException.badRequest(field, field + " has " + value.asText().length()
          + " characters; at most " + MAX_TEXT);
    }
    return value.asText().strip();
  }

  /** The token's subject (AdminAuthFilter let only admin tokens through), or when open the header's name. */
  private String actor(String authorization, String header) {
    if (!credentials.access().isOpen()) {
      return printable(credentials.access().actor(authorization, null), "the token's subject");
    }
    if (header == null || header.isBlank()) {
      return ANONYMOUS;
    }
    return printable(header.strip(), ACTOR_HEADER);
  }

  private static String printable(String actor, String what) {
    if (actor.length() > 100 || actor.chars().anyMatch(Character::isISOControl)) {
      throw AdminException.badRequest(ACTOR_HEADER, what + " must be at most 100 printable characters");
    }
    return actor;
  }

  private static LeaseState state(String state) {
    if (state == null || state.isBlank()) {
      return null;
    }
    try {
      LeaseState s = LeaseState.valueOf(state.strip().toUpperCase(Locale.ROOT));
      if (s != LeaseState.UNRECOGNIZED && s != LeaseState.LEASE_STATE_UNSPECIFIED) {
        return s;
      }
    } catch (IllegalArgumentException e) {
      // answered below
    }
    throw AdminException.badRequest("state", "state is " + state + "; it must be one of "
        + Arrays.stream(LeaseState.values())
            .filter(s -> s != LeaseState.UNRECOGNIZED && s != LeaseState.LEASE_STATE_UNSPECIFIED).toList());
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }

  @Schema(description = "Body of POST /leases/{id}/revoke")
  public record RevokeBody(@Schema(required = true, description = "Why; recorded in the lease log") String reason) {}

  @Schema(description = "Body of POST /rebalance")
  public record RebalanceBody(
      @Schema(required = true, description = "The edge whose leases are revoked") String fromEdge,
      @Schema(required = true, description = "The edge meant to get the capacity (recorded in the reason)")
      String toEdge,
      @Schema(required = true, type = SchemaType.INTEGER, format = "int64", minimum = "1",
          description = "Memory to free, in bytes, summed over the revoked leases' slices") long memoryBytes,
      @Schema(required = true, description = "Why; recorded in the lease log") String reason) {}

  @Schema(description = "A lease: its latest record in the lease log")
  public record LeaseDto(
      String id,
      String edge,
      LeaseState state,
      @Schema(description = "1 on the answer to the request, +1 on every change") long epoch,
      List<SliceDto> slices,
      @Schema(description = "Memory held, summed over the slices") long memoryBytes,
      @Schema(description = "GRANTED: lease deadline; DRAINING: drain deadline; ended: when it ended")
      Instant deadline,
      @Schema(description = "Why it is in this state, for people") String reason,
      @Schema(description = "Member id of the leader that wrote the record") String grantedBy,
      Instant updatedAt) {

    static LeaseDto of(LeaseBook.Entry e) {
      return of(e.lease());
    }

    static LeaseDto of(Lease l) {
      return new LeaseDto(l.getLeaseId(), l.getEdge(), l.getState(), l.getEpoch(),
          l.getSlicesList().stream().map(SliceDto::of).toList(),
          l.getSlicesList().stream().mapToLong(LeaseGrantSlice::getMemoryBytes).sum(),
          Instant.ofEpochMilli(l.getDeadlineMillis()), l.getReason(), l.getGrantedBy(),
          Instant.ofEpochMilli(l.getUpdatedAtMillis()));
    }
  }

  @Schema(description = "One GPU's share of a lease")
  public record SliceDto(String node, String nodeAddress, int gpuIndex, String gpuUuid, String model,
      long memoryBytes, int computePercent) {
    static SliceDto of(LeaseGrantSlice s) {
      return new SliceDto(s.getNodeId(), s.getNodeAddress(), s.getGpuIndex(), s.getGpuUuid(), s.getModel(),
          s.getMemoryBytes(), s.getComputePercent());
    }
  }

  @Schema(description = "What a rebalance revoked")
  public record RebalanceDto(String fromEdge, String toEdge, long requestedBytes,
      @Schema(description = "Memory held by the revoked leases") long revokedBytes,
      @Schema(description = "True when revokedBytes >= requestedBytes") boolean complete,
      @Schema(description = "The revoked leases, oldest grant first (DRAINING once the leader applied the "
          + "order)") List<LeaseDto> revoked,
      String note) {}
}
