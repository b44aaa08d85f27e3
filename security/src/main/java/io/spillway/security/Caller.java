package io.spillway.security;

import io.grpc.Context;
import io.grpc.Metadata;
import java.util.Optional;

/**
 * Who made the current call, as the server's interceptors established it before the call reached a
 * service: the component that connected ({@link #PEER}, from the mutual-TLS handshake) and the tenant it
 * acts for ({@link #TENANT}, from a verified credential). Code that decides (admission, registration,
 * the center's lease check) reads them with {@link #current()} on the call's thread, before it hands the
 * call to other threads.
 *
 * @param peer the connecting component, if it presented a certificate naming one
 * @param tenant the proven tenant, if the call carried a credential that proved one
 */
public record Caller(Optional<PeerIdentity> peer, Optional<TenantPrincipal> tenant) {

  /** Set by the TLS interceptor from the peer's certificate. */
  public static final Context.Key<PeerIdentity> PEER = Context.key("spillway-peer");
  /** Set by the credential interceptor once a token or certificate has proven a tenant. */
  public static final Context.Key<TenantPrincipal> TENANT = Context.key("spillway-tenant");

  /** {@code authorization: Bearer <token>}: a tenant's token, or an agent's or admin's. */
  public static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  /** The tenant an agent vouches for; honoured only from a peer allowed to vouch. */
  public static final Metadata.Key<String> ON_BEHALF_OF =
      Metadata.Key.of("spillway-on-behalf-of", Metadata.ASCII_STRING_MARSHALLER);

  /** Nobody proven: a plaintext connection with no credential. */
  public static final Caller ANONYMOUS = new Caller(Optional.empty(), Optional.empty());

  public Caller {
    java.util.Objects.requireNonNull(peer, "peer");
    java.util.Objects.requireNonNull(tenant, "tenant");
  }

  /** The caller of the call whose context is current. */
  public static Caller current() {
    return new Caller(Optional.ofNullable(PEER.get()), Optional.ofNullable(TENANT.get()));
  }
}
