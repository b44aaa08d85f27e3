package io.spillway.console.http;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/**
 * Every {@code spillway.auth.*} key, declared once; the same keys on the edge and the center gateway.
 * The reference table is the "Credentials" section of docs/configuration.md.
 */
@ConfigMapping(prefix = "spillway.auth")
public interface AuthConfig {

  /**
   * The public keys tokens are verified with: a JWKS file (an OIDC provider's {@code jwks_uri} saved to
   * disk) or PEM public keys, reread when it changes. Unset: no credentials are checked anywhere.
   */
  Optional<String> keys();

  /** The {@code iss} tokens must carry. */
  @WithDefault("spillway")
  String issuer();

  /** The {@code aud} tokens must carry. */
  @WithDefault("spillway")
  String audience();

  /** How far token times ({@code exp}, {@code nbf}, {@code iat}) may be off this machine's clock. */
  @WithDefault("30s")
  Duration clockSkew();
}
