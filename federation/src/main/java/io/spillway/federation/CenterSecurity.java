package io.spillway.federation;

import io.grpc.ServerInterceptor;
import io.spillway.lease.LeaseSigning;
import java.util.List;
import java.util.Optional;
import java.util.Objects;

/**
 * How a center gateway knows who calls it.
 *
 * @param interceptors run (first first) before the session and registration services; the one that
 *     verifies client certificates sets {@code Caller.PEER}
 * @param edgeIdentityRequired refuse a session whose call proves no peer (the center requires mutual
 *     TLS); without it, a call with no proven peer is admitted on its lease alone, and a call that does
 *     prove one must still be the lease's edge
 * @param leaseSecret the center secret of lease record signatures ({@link LeaseSigning}): the leader
 *     takes only requests, renewals and releases signed by the edge they name, and admin orders signed
 *     with the admin key, which the admin producer signs with; empty: nothing is signed or checked
 */
public record CenterSecurity(List<ServerInterceptor> interceptors, boolean edgeIdentityRequired,
    Optional<byte[]> leaseSecret) {

  public CenterSecurity {
    interceptors = List.copyOf(Objects.requireNonNull(interceptors, "interceptors"));
    Objects.requireNonNull(leaseSecret, "leaseSecret");
    leaseSecret.ifPresent(LeaseSigning::verifier); // checks its length
  }

  /** With lease records neither signed nor checked. */
  public CenterSecurity(List<ServerInterceptor> interceptors, boolean edgeIdentityRequired) {
    this(interceptors, edgeIdentityRequired, Optional.empty());
  }

  /** Plaintext: no interceptor, no identity required, no signatures (tests and the plaintext demo). */
  public static CenterSecurity none() {
    return new CenterSecurity(List.of(), false);
  }

  /** The same, with lease records signed and checked under {@code secret}. */
  public CenterSecurity withLeaseSecret(byte[] secret) {
    return new CenterSecurity(interceptors, edgeIdentityRequired, Optional.of(secret.clone()));
  }
}
