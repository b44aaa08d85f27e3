package io.spillway.federation;

import io.grpc.ServerInterceptor;
import java.util.List;
import java.util.Objects;

/**
 * How a center gateway knows who calls it.
 *
 * @param interceptors run (first first) before the session and registration services; the one that
 *     verifies client certificates sets {@code Caller.PEER}
 * @param edgeIdentityRequired refuse a session whose call proves no peer (the center requires mutual
 *     TLS); without it, a call with no proven peer is admitted on its lease alone, and a call that does
 *     prove one must still be the lease's edge
 */
public record CenterSecurity(List<ServerInterceptor> interceptors, boolean edgeIdentityRequired) {

  public CenterSecurity {
    interceptors = List.copyOf(Objects.requireNonNull(interceptors, "interceptors"));
  }

  /** Plaintext: no interceptor, no identity required (tests and the plaintext demo). */
  public static CenterSecurity none() {
    return new CenterSecurity(List.of(), false);
  }
}
