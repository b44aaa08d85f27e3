package io.spillway.pool.session;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Which tenants a gateway admits, and whether they must prove who they are.
 *
 * @param credentialsRequired a session needs a credential that proves its tenant (a token, an agent's
 *     vouching, a client certificate); without one it is refused {@code UNAUTHENTICATED}. Off, a
 *     session's tenant is what its open says (tests, a trusted network).
 * @param knownTenants the tenants the gateway admits; any other is refused {@code PERMISSION_DENIED}
 *     (and grows no metric series). Empty: any tenant with a valid name, under the default quota.
 */
public record TenantPolicy(boolean credentialsRequired, Optional<Set<String>> knownTenants) {

  public TenantPolicy {
    Objects.requireNonNull(knownTenants, "knownTenants");
    knownTenants = knownTenants.map(Set::copyOf);
  }

  /** No credential needed, every validly named tenant admitted: what a gateway does until told otherwise. */
  public static TenantPolicy open() {
    return new TenantPolicy(false, Optional.empty());
  }

  /** Credentials required, only {@code known} admitted. */
  public static TenantPolicy strict(Set<String> known) {
    return new TenantPolicy(true, Optional.of(known));
  }

  public boolean admits(String tenant) {
    return knownTenants.map(k -> k.contains(tenant)).orElse(true);
  }
}
