package io.spillway.security.token;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A token whose signature, issuer, audience and lifetime checked out.
 *
 * @param subject its {@code sub}: who holds it (a service account, a user, an agent's machine)
 * @param issuer its {@code iss}
 * @param issuedAt its {@code iat}, or {@link Instant#EPOCH} when absent
 * @param expiresAt its {@code exp}
 * @param tenant its {@code tenant} claim, validated by {@link TenantNames}, for a tenant's token
 * @param roles its {@code roles} and {@code groups} claims together
 * @param vouchFor its {@code tenants} claim: the tenants an agent's token may vouch for, each validated
 */
public record VerifiedToken(String subject, String issuer, Instant issuedAt, Instant expiresAt,
    Optional<String> tenant, Set<String> roles, List<String> vouchFor) {

  public VerifiedToken {
    roles = Set.copyOf(roles);
    vouchFor = List.copyOf(vouchFor);
  }

  public boolean hasRole(String role) {
    return roles.contains(role);
  }

  /** Whether this is an agent's token that may vouch for {@code tenant}. */
  public boolean mayVouchFor(String tenant) {
    return hasRole(TokenRoles.AGENT) && vouchFor.contains(tenant);
  }
}
