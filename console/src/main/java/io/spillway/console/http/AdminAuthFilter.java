package io.spillway.console.http;

import io.spillway.console.ConsoleAccess;
import jakarta.annotation.Priority;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.Provider;
import java.util.Map;
import java.util.Set;

/**
 * Guards every REST endpoint of a gateway app (the admin API, {@code /pool}, {@code /sessions}, the
 * console's API) with {@link ConsoleAccess}: reads need a read-only or admin token, anything else an
 * admin token. Health, metrics and the OpenAPI document ({@code /q/...}) are not REST resources and stay
 * open, so probes and scrapers need no token; the console's static files hold no data.
 */
@Provider
@Priority(Priorities.AUTHENTICATION)
public class AdminAuthFilter implements ContainerRequestFilter {
  private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS");

  /**
   * Looked up at the first request: REST providers are built at static init, before the runtime
   * configuration (spillway.auth.*) that {@link Credentials} reads exists.
   */
  @Inject
  Instance<Credentials> credentials;

  @Override
  public void filter(ContainerRequestContext request) {
    ConsoleAccess access = credentials.get().access();
    if (access.isOpen()) {
      return;
    }
    ConsoleAccess.Decision d = access.authorize(request.getHeaderString(HttpHeaders.AUTHORIZATION),
        !READS.contains(request.getMethod()));
    if (d instanceof ConsoleAccess.Refused r) {
      Response.ResponseBuilder answer = Response.status(r.status()).type(MediaType.APPLICATION_JSON)
          .entity(Map.of("status", r.status(), "field", "Authorization", "message", r.message()));
      if (r.status() == 401) {
        answer.header(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"spillway\"");
      }
      request.abortWith(answer.build());
    }
  }
}
