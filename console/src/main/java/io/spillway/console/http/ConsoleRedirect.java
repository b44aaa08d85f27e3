package io.spillway.console.http;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** {@code /console} without its slash leads to the console's page ({@code /console/index.html}). */
@Path("/console")
@Tag(name = "console")
public class ConsoleRedirect {

  @GET
  @Operation(summary = "The console", description = "Redirects to /console/.")
  public Response console() {
    return Response.seeOther(URI.create("/console/")).build();
  }
}
