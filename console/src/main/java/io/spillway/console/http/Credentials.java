package io.spillway.console.http;

import io.spillway.console.ConsoleAccess;
import io.spillway.security.token.TokenVerifier;
import io.spillway.security.token.VerificationKeys;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The token verifier of a gateway app, built once from {@link AuthConfig}: the admin API and the console
 * use it through {@link #access()}, the edge's gRPC server through {@link #verifier()}.
 */
@Singleton
public class Credentials {
  private static final Logger LOG = Logger.getLogger(Credentials.class);

  private final Optional<TokenVerifier> verifier;
  private final ConsoleAccess access;

  @Inject
  public Credentials(AuthConfig config) {
    if (config.clockSkew().isNegative()) {
      throw new IllegalArgumentException("spillway.auth.clock-skew is " + config.clockSkew()
          + "; it must be zero or positive");
    }
    Optional<String> keys = config.keys().filter(k -> !k.isBlank());
    if (keys.isEmpty()) {
      verifier = Optional.empty();
      access = ConsoleAccess.open();
      LOG.warn("spillway.auth.keys is not set: no credentials are checked; anyone who reaches the HTTP port "
          + "may revoke and rebalance, and tenants are who their opens say");
      return;
    }
    Path file = Path.of(keys.get());
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException("spillway.auth.keys is " + file
          + "; no readable file there (a JWKS or PEM public keys)");
    }
    VerificationKeys loaded = VerificationKeys.fromFile(file);
    if (loaded.problem() != null) {
      throw new IllegalArgumentException("spillway.auth.keys is " + file + ": " + loaded.problem());
    }
    TokenVerifier v = new TokenVerifier(loaded, config.issuer(), config.audience(), config.clockSkew(),
        InstantSource.system());
    verifier = Optional.of(v);
    access = ConsoleAccess.tokens(v);
    LOG.infof("tokens verified with %s (key ids %s), issuer %s, audience %s", file, loaded.keyIds(),
        config.issuer(), config.audience());
  }

  /** The verifier, or empty when no credentials are checked. */
  public Optional<TokenVerifier> verifier() {
    return verifier;
  }

  public ConsoleAccess access() {
    return access;
  }
}
