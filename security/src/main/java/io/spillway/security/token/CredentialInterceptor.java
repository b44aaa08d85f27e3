package io.spillway.security.token;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.spillway.security.Caller;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.TenantPrincipal;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Proves the tenant of a call from its credential and puts it into the call's context as
 * {@link Caller#TENANT}. Runs after the TLS interceptor (which sets {@link Caller#PEER}).
 *
 * <ul>
 *   <li>{@code authorization: Bearer <token>} with a tenant's token: that token's {@code tenant}.
 *   <li>An agent's token (role {@link TokenRoles#AGENT}) with {@code spillway-on-behalf-of: <tenant>}:
 *       that tenant, if the token's {@code tenants} claim lists it; the principal is marked as vouched by
 *       the agent (its certificate's identity when it connected with one, else the token's subject).
 *   <li>No {@code authorization} and a client certificate ({@code spillway://client/<tenant>}): that tenant.
 *   <li>No credential at all: the call goes on with no tenant; admission decides whether that is allowed.
 * </ul>
 *
 * A credential that is present but does not hold (malformed, expired, wrong audience, bad signature,
 * unknown key) ends the call with {@code UNAUTHENTICATED} saying why; an agent vouching for a tenant it
 * may not, or a tenant's token naming {@code spillway-on-behalf-of}, with {@code PERMISSION_DENIED}.
 * Tokens of other roles (admin, read-only) prove no tenant. Nothing of the token is logged.
 */
public final class CredentialInterceptor implements ServerInterceptor {
  private static final String BEARER = "bearer ";

  private final TokenVerifier verifier;

  public CredentialInterceptor(TokenVerifier verifier) {
    this.verifier = Objects.requireNonNull(verifier, "verifier");
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
      ServerCallHandler<Q, A> next) {
    Optional<PeerIdentity> peer = Optional.ofNullable(Caller.PEER.get());
    String authorization = headers.get(Caller.AUTHORIZATION);
    String onBehalfOf = headers.get(Caller.ON_BEHALF_OF);
    TenantPrincipal principal;
    try {
      principal = authorization != null ? fromToken(authorization, onBehalfOf, peer)
          : fromCertificate(peer, onBehalfOf);
    } catch (Refusal r) {
      call.close(r.status, new Metadata());
      return new ServerCall.Listener<>() {};
    }
    if (principal == null) {
      return next.startCall(call, headers);
    }
    return Contexts.interceptCall(Context.current().withValue(Caller.TENANT, principal), call, headers, next);
  }

  private static final class Refusal extends Exception {
    final Status status;

    Refusal(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }
  }

  private TenantPrincipal fromToken(String authorization, String onBehalfOf, Optional<PeerIdentity> peer)
      throws Refusal {
    if (authorization.length() <= BEARER.length()
        || !authorization.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
      throw new Refusal(Status.UNAUTHENTICATED.withDescription(
          "authorization metadata must be 'Bearer <token>'"));
    }
    VerifiedToken token;
    try {
      token = verifier.verify(authorization.substring(BEARER.length()));
    } catch (TokenException e) {
      throw new Refusal(Status.UNAUTHENTICATED.withDescription(e.getMessage()));
    }
    if (token.hasRole(TokenRoles.AGENT)) {
      if (onBehalfOf == null) {
        return null;
      }
      String problem = TenantNames.problem(onBehalfOf);
      if (problem != null) {
        throw new Refusal(Status.INVALID_ARGUMENT.withDescription("spillway-on-behalf-of: " + problem));
      }
      PeerIdentity agent = peer.filter(p -> p.role() == Role.AGENT)
          .orElseGet(() -> new PeerIdentity(Role.AGENT, token.subject(), ""));
      if (!token.mayVouchFor(onBehalfOf)) {
        throw new Refusal(Status.PERMISSION_DENIED.withDescription("agent " + TenantNames.quoted(token.subject())
            + " may not vouch for tenant " + onBehalfOf + "; its token lists " + token.vouchFor()));
      }
      return new TenantPrincipal(onBehalfOf, token.subject(), token.expiresAt(), Optional.of(agent));
    }
    if (onBehalfOf != null) {
      throw new Refusal(Status.PERMISSION_DENIED.withDescription("spillway-on-behalf-of " + TenantNames.quoted(
          onBehalfOf) + " is honoured only with an agent's token (role " + TokenRoles.AGENT + ")"));
    }
    return token.tenant()
        .map(t -> new TenantPrincipal(t, token.subject(), token.expiresAt(), Optional.empty()))
        .orElse(null);
  }

  private static TenantPrincipal fromCertificate(Optional<PeerIdentity> peer, String onBehalfOf) throws Refusal {
    if (onBehalfOf != null) {
      throw new Refusal(Status.UNAUTHENTICATED.withDescription("spillway-on-behalf-of " + TenantNames.quoted(
          onBehalfOf) + " needs an agent's token in the authorization metadata"));
    }
    if (peer.isEmpty() || peer.get().role() != Role.CLIENT) {
      return null;
    }
    String tenant = peer.get().name();
    String problem = TenantNames.problem(tenant);
    if (problem != null) {
      throw new Refusal(Status.PERMISSION_DENIED.withDescription("client certificate: " + problem));
    }
    return new TenantPrincipal(tenant, "spillway://client/" + tenant, Instant.MAX, Optional.empty());
  }
}
