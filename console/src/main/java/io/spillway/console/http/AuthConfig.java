package io.spillway.console.http;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.spillway.config.Doc;
import java.time.Duration;
import java.util.Optional;

/**
 * Every {@code spillway.auth.*} key, declared once; the same keys on the edge and the center gateway.
 * Each key's {@link Doc} is its row in the "Credentials" table of docs/configuration.md, which
 * {@code ConfigurationPage} generates.
 */
@ConfigMapping(prefix = "spillway.auth")
public interface AuthConfig {

  @Doc(value = "the public keys tokens are verified with: a JWKS file (for example an OIDC provider's "
          + "`jwks_uri` saved to disk, or the `jwks.json` of `spillway token keygen`) or PEM public keys; "
          + "reread when the file changes. Set: every REST request needs a token of role "
          + "`spillway-read-only` (reads) or `spillway-admin` (orders), and at an edge every session needs "
          + "a credential proving its tenant. Unset: nothing is checked (the gateway logs a warning and the "
          + "console says \"no authentication configured\")",
      type = "path")
  Optional<String> keys();

  @Doc(value = "the `iss` every token must carry (an OIDC provider's issuer URL)", type = "string")
  @WithDefault("spillway")
  String issuer();

  @Doc(value = "the `aud` every token must carry", type = "string")
  @WithDefault("spillway")
  String audience();

  @Doc("how far a token's `exp`, `nbf` and `iat` may be off this machine's clock")
  @WithDefault("30s")
  Duration clockSkew();
}
