package io.spillway.center;

import io.spillway.federation.AdminException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** The body of every refusal of the admin API. */
@Schema(description = "Why a request was refused")
public record ApiError(
    @Schema(description = "The HTTP status") int status,
    @Schema(description = "The request field at fault (body field, path parameter, query parameter or "
        + "header); absent when none is") String field,
    @Schema(description = "What is wrong, with the value and what would be accepted") String message) {

  /** Answers an {@link AdminException} with its status and an {@link ApiError} body. */
  @Provider
  public static class Mapper implements ExceptionMapper<AdminException> {
    @Override
    public Response toResponse(AdminException e) {
      return Response.status(e.status()).type(MediaType.APPLICATION_JSON)
          .entity(new ApiError(e.status(), e.field(), e.getMessage())).build();
    }
  }
}
