package io.spillway.security.token;

import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.NumericDate;
import org.jose4j.lang.JoseException;

/**
 * Signs tokens with a private key: ES256 for an EC P-256 key, RS256 for an RSA key. The token's
 * {@code kid} is the public key's thumbprint ({@link KeyFiles#keyId}), which {@link VerificationKeys}
 * gives the same key when it reads it from PEM or from a JWKS without ids.
 */
public final class TokenIssuer {

  /**
   * What a token says.
   *
   * @param subject its {@code sub}
   * @param tenant the tenant a tenant's token proves, or empty
   * @param roles {@link TokenRoles} it grants, or none
   * @param vouchFor for an agent's token, the tenants it may vouch for
   * @param ttl how long from now it is valid
   */
  public record Claims(String subject, Optional<String> tenant, List<String> roles, List<String> vouchFor,
      Duration ttl) {
    public Claims {
      Objects.requireNonNull(subject, "subject");
      if (subject.isBlank()) {
        throw new IllegalArgumentException("a token needs a subject");
      }
      tenant.ifPresent(TenantNames::require);
      roles = List.copyOf(roles);
      vouchFor = List.copyOf(vouchFor);
      vouchFor.forEach(TenantNames::require);
      if (ttl.isNegative() || ttl.isZero()) {
        throw new IllegalArgumentException("ttl must be positive, got " + ttl);
      }
    }

    public static Claims tenant(String tenant, Duration ttl) {
      return new Claims("tenant:" + tenant, Optional.of(tenant), List.of(), List.of(), ttl);
    }

    public static Claims admin(String subject, Duration ttl) {
      return new Claims(subject, Optional.empty(), List.of(TokenRoles.ADMIN), List.of(), ttl);
    }

    public static Claims readOnly(String subject, Duration ttl) {
      return new Claims(subject, Optional.empty(), List.of(TokenRoles.READ_ONLY), List.of(), ttl);
    }

    public static Claims agent(String machine, List<String> tenants, Duration ttl) {
      return new Claims("agent:" + machine, Optional.empty(), List.of(TokenRoles.AGENT), tenants, ttl);
    }
  }

  private final PrivateKey key;
  private final String keyId;
  private final String algorithm;
  private final String issuer;
  private final String audience;
  private final InstantSource clock;

  public TokenIssuer(PrivateKey key, PublicKey publicKey, String issuer, String audience, InstantSource clock) {
    this.key = Objects.requireNonNull(key, "key");
    this.keyId = publicKey == null ? null : KeyFiles.keyId(publicKey);
    this.algorithm = algorithm(key);
    this.issuer = Objects.requireNonNull(issuer, "issuer");
    this.audience = Objects.requireNonNull(audience, "audience");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public TokenIssuer(KeyPair pair, String issuer, String audience, InstantSource clock) {
    this(pair.getPrivate(), pair.getPublic(), issuer, audience, clock);
  }

  /** An issuer for the private key in a PKCS#8 PEM file; its tokens carry the key id of the derived public key. */
  public static TokenIssuer fromFile(Path privateKeyPem, String issuer, String audience, InstantSource clock)
      throws IOException {
    PrivateKey k = KeyFiles.readPrivateKey(privateKeyPem);
    return new TokenIssuer(k, KeyFiles.publicKeyBeside(privateKeyPem, k), issuer, audience, clock);
  }

  public String issue(Claims c) {
    Instant now = clock.instant();
    JwtClaims claims = new JwtClaims();
    claims.setIssuer(issuer);
    claims.setAudience(audience);
    claims.setSubject(c.subject());
    claims.setIssuedAt(NumericDate.fromMilliseconds(now.toEpochMilli()));
    claims.setExpirationTime(NumericDate.fromMilliseconds(now.plus(c.ttl()).toEpochMilli()));
    claims.setJwtId(UUID.randomUUID().toString());
    c.tenant().ifPresent(t -> claims.setClaim(TokenVerifier.TENANT_CLAIM, t));
    if (!c.roles().isEmpty()) {
      claims.setStringListClaim(TokenVerifier.ROLES_CLAIM, c.roles());
    }
    if (!c.vouchFor().isEmpty()) {
      claims.setStringListClaim(TokenVerifier.TENANTS_CLAIM, c.vouchFor());
    }
    JsonWebSignature jws = new JsonWebSignature();
    jws.setPayload(claims.toJson());
    jws.setKey(key);
    jws.setAlgorithmHeaderValue(algorithm);
    jws.setHeader("typ", "JWT");
    if (keyId != null) {
      jws.setKeyIdHeaderValue(keyId);
    }
    try {
      return jws.getCompactSerialization();
    } catch (JoseException e) {
      throw new IllegalStateException("signing failed: " + e.getMessage(), e);
    }
  }

  private static String algorithm(PrivateKey key) {
    if (key instanceof ECPrivateKey ec) {
      int bits = ec.getParams().getCurve().getField().getFieldSize();
      if (bits != 256) {
        throw new IllegalArgumentException("an EC signing key must be P-256 (ES256), this one has " + bits + " bits");
      }
      return AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256;
    }
    if (key instanceof RSAPrivateKey rsa) {
      if (rsa.getModulus().bitLength() < 2048) {
        throw new IllegalArgumentException("an RSA signing key must have at least 2048 bits, this one has "
            + rsa.getModulus().bitLength());
      }
      return AlgorithmIdentifiers.RSA_USING_SHA256;
    }
    throw new IllegalArgumentException("a signing key must be EC P-256 or RSA, not " + key.getAlgorithm());
  }
}
