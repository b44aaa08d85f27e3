package io.spillway.console.http;

import io.spillway.console.ConsoleAccess;
import io.spillway.console.Sample;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.placement.TenantQuota;
import io.spillway.pool.session.SessionInfo;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.net.URI;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** The JSON the console's pages read beside the gateways' own APIs. See docs/console.md. */
@Path("/console/api")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "console", description = "What the web console reads: who a gateway is, its history, the federation")
public class ConsoleResource {

  @Inject
  ConsoleService console;
  @Inject
  GatewayCore core;
  @ConfigProperty(name = "quarkus.application.name")
  String application;

  @GET
  @Path("self")
  @Operation(summary = "This gateway", description = "Name, kind (edge or center), pool, and the quotas of the "
      + "tenants holding sessions here.")
  public SelfDto self() {
    Map<String, QuotaDto> quotas = new TreeMap<>();
    for (SessionInfo s : core.sessions()) {
      TenantQuota q = core.config().quotas().quotaFor(s.tenant());
      quotas.put(s.tenant(), new QuotaDto(q.maxSessions(), q.maxMemoryBytes()));
    }
    return new SelfDto(core.config().name(), application.contains("center") ? "center" : "edge",
        core.config().pool(), console.interval().toMillis(), quotas);
  }

  @GET
  @Path("whoami")
  @Operation(summary = "The caller's role",
      description = "admin or read-only, from the role of the bearer token presented; 401 without a valid "
          + "token (when spillway.auth.keys is set). Open (no keys): admin.")
  public Response whoami(@HeaderParam("Authorization") String authorization) {
    ConsoleAccess.Decision d = console.access().authorize(authorization, false);
    if (d instanceof ConsoleAccess.Granted g) {
      ConsoleAccess.Access a = g.access();
      return Response.ok(new AccessDto(a.authentication(), a.role().label(), a.subject(), a.notice())).build();
    }
    ConsoleAccess.Refused r = (ConsoleAccess.Refused) d;
    return Response.status(r.status()).entity(Map.of("status", r.status(), "field", "Authorization",
        "message", r.message())).build();
  }

  @GET
  @Path("history")
  @Operation(summary = "Utilization over time", description = "The samples of the in-process history, oldest "
      + "first, optionally only those after `since` (ISO-8601).")
  public HistoryDto history(@QueryParam("since") String since) {
    Instant after = null;
    if (since != null && !since.isBlank()) {
      try {
        after = Instant.parse(since.strip());
      } catch (DateTimeParseException e) {
        throw new jakarta.ws.rs.BadRequestException(Response.status(400).entity(Map.of("status", 400, "field",
            "since", "message", "since is " + since + "; it must be an ISO-8601 instant")).build());
      }
    }
    return new HistoryDto(console.interval().toMillis(), console.history().capacity(),
        console.history().since(after));
  }

  @GET
  @Path("federation")
  @Operation(summary = "This gateway and its peers", description = "Each gateway's self, pool, sessions and (on "
      + "a center) leases, read from their HTTP APIs; a gateway that does not answer has up=false and error.")
  public com.fasterxml.jackson.databind.JsonNode federation(@Context UriInfo uri,
      @QueryParam("history") boolean history, @HeaderParam("Authorization") String authorization) {
    URI base = uri.getBaseUri();
    // The caller's token goes on to the peers, which check it as this gateway did.
    return console.reader().read(URI.create(base.getScheme() + "://" + base.getAuthority()), history,
        authorization);
  }

  public record SelfDto(String name, String kind, String pool, long historyIntervalMillis,
      Map<String, QuotaDto> quotas) {}

  /** A tenant's quota; 0 is unlimited. */
  public record QuotaDto(int maxSessions, long maxMemoryBytes) {}

  public record AccessDto(String authentication, String role, String subject, String notice) {}

  public record HistoryDto(long intervalMillis, int capacity, List<Sample> samples) {}

}
