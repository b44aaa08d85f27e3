package io.spillway.security;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A tenant proven by a credential: a signed token, a client certificate, or an agent that vouches for
 * the tenant with its own credential.
 *
 * @param tenant the tenant's name, already validated (safe as a log field and a metric label)
 * @param subject who presented it: the token's subject, or the certificate's name
 * @param expiresAt when the credential stops being valid, or {@link Instant#MAX} for none
 * @param vouchedBy the agent that vouched for the tenant, if the credential was the agent's
 */
public record TenantPrincipal(String tenant, String subject, Instant expiresAt, Optional<PeerIdentity> vouchedBy) {

  public TenantPrincipal {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(expiresAt, "expiresAt");
    Objects.requireNonNull(vouchedBy, "vouchedBy");
  }
}
