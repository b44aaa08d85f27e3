package io.spillway.security.token;

/**
 * The roles a token's {@code roles} (or, as OIDC providers and MicroProfile JWT name it, {@code groups})
 * claim may carry. A tenant's token carries none of them: its {@code tenant} claim is what it proves.
 */
public final class TokenRoles {
  /** May call every admin API: revoke, rebalance, the console's actions. */
  public static final String ADMIN = "spillway-admin";
  /** May read the admin API and the console, and act on nothing. */
  public static final String READ_ONLY = "spillway-read-only";
  /** A machine's agent: may vouch for the tenants its {@code tenants} claim lists. */
  public static final String AGENT = "spillway-agent";

  private TokenRoles() {}
}
