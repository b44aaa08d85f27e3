package io.spillway.security.token;

import java.security.Key;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.MalformedClaimException;
import org.jose4j.jwt.NumericDate;
import org.jose4j.jwt.consumer.ErrorCodes;
import org.jose4j.jwt.consumer.InvalidJwtException;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.jose4j.jwt.consumer.JwtContext;
import org.jose4j.jwx.JsonWebStructure;

/**
 * Verifies signed tokens (compact JWS, algorithms ES256, ES384, RS256, PS256; never {@code none} or
 * HMAC): the signature with the key its {@code kid} names in {@link VerificationKeys}, then {@code iss},
 * {@code aud}, {@code exp} (required), {@code nbf} and {@code iat} against the injected clock, allowing
 * {@code clockSkew} either way. Tokens from an OIDC provider verify when the key file is the provider's
 * JWKS and issuer and audience are set to what it puts in its tokens.
 *
 * <p>Thread-safe.
 */
public final class TokenVerifier {
  public static final String TENANT_CLAIM = "tenant";
  public static final String ROLES_CLAIM = "roles";
  /** MicroProfile JWT's and many OIDC providers' name for roles; read beside {@link #ROLES_CLAIM}. */
  public static final String GROUPS_CLAIM = "groups";
  public static final String TENANTS_CLAIM = "tenants";

  private static final AlgorithmConstraints ALGORITHMS = new AlgorithmConstraints(
      AlgorithmConstraints.ConstraintType.PERMIT, AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
      AlgorithmIdentifiers.ECDSA_USING_P384_CURVE_AND_SHA384, AlgorithmIdentifiers.RSA_USING_SHA256,
      AlgorithmIdentifiers.RSA_PSS_USING_SHA256);
  /** Longer than any token this code accepts, short enough that parsing a hostile one costs little. */
  static final int MAX_TOKEN_CHARS = 16 * 1024;

  private final VerificationKeys keys;
  private final String issuer;
  private final String audience;
  private final Duration clockSkew;
  private final InstantSource clock;
  private final JwtConsumer firstPass = new JwtConsumerBuilder()
      .setSkipAllValidators().setDisableRequireSignature().setSkipSignatureVerification().build();

  public TokenVerifier(VerificationKeys keys, String issuer, String audience, Duration clockSkew,
      InstantSource clock) {
    this.keys = Objects.requireNonNull(keys, "keys");
    this.issuer = Objects.requireNonNull(issuer, "issuer");
    this.audience = Objects.requireNonNull(audience, "audience");
    this.clockSkew = Objects.requireNonNull(clockSkew, "clockSkew");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public VerificationKeys keys() {
    return keys;
  }

  public VerifiedToken verify(String token) throws TokenException {
    if (token == null || token.isBlank()) {
      throw new TokenException(TokenException.Reason.MALFORMED, "the token is empty");
    }
    if (token.length() > MAX_TOKEN_CHARS) {
      throw new TokenException(TokenException.Reason.MALFORMED, "the token has " + token.length()
          + " characters; at most " + MAX_TOKEN_CHARS);
    }
    JwtContext context;
    try {
      context = firstPass.process(token.strip());
    } catch (InvalidJwtException e) {
      throw new TokenException(TokenException.Reason.MALFORMED, "the token is not a signed JWT");
    }
    List<JsonWebStructure> structures = context.getJoseObjects();
    if (structures.size() != 1) {
      throw new TokenException(TokenException.Reason.MALFORMED, "the token is nested; send a plain signed JWT");
    }
    Key key = keys.resolve(structures.get(0).getKeyIdHeaderValue());
    Instant now = clock.instant();
    JwtConsumer consumer = new JwtConsumerBuilder()
        .setVerificationKey(key)
        .setJwsAlgorithmConstraints(ALGORITHMS)
        .setExpectedIssuer(issuer)
        .setExpectedAudience(audience)
        .setRequireExpirationTime()
        .setRequireSubject()
        .setAllowedClockSkewInSeconds((int) Math.min(Integer.MAX_VALUE, clockSkew.toSeconds()))
        .setEvaluationTime(NumericDate.fromMilliseconds(now.toEpochMilli()))
        .build();
    try {
      consumer.processContext(context);
    } catch (InvalidJwtException e) {
      throw refusal(e, context.getJwtClaims());
    }
    return read(context.getJwtClaims());
  }

  private TokenException refusal(InvalidJwtException e, JwtClaims claims) {
    if (e.hasErrorCode(ErrorCodes.SIGNATURE_INVALID) || e.hasErrorCode(ErrorCodes.SIGNATURE_MISSING)) {
      return new TokenException(TokenException.Reason.BAD_SIGNATURE, "the token's signature does not verify "
          + "with key " + TenantNames.quoted(String.valueOf(safeKid(e))) + " of " + keys.file());
    }
    if (e.hasExpired()) {
      return new TokenException(TokenException.Reason.EXPIRED, "token expired at " + when(claims, "exp"));
    }
    if (e.hasErrorCode(ErrorCodes.AUDIENCE_INVALID) || e.hasErrorCode(ErrorCodes.AUDIENCE_MISSING)) {
      return new TokenException(TokenException.Reason.WRONG_AUDIENCE, "the token is for audience "
          + text(() -> String.join(",", claims.getAudience())) + ", not " + TenantNames.quoted(audience));
    }
    if (e.hasErrorCode(ErrorCodes.ISSUER_INVALID) || e.hasErrorCode(ErrorCodes.ISSUER_MISSING)) {
      return new TokenException(TokenException.Reason.WRONG_ISSUER, "the token is from issuer "
          + text(claims::getIssuer) + ", not " + TenantNames.quoted(issuer));
    }
    if (e.hasErrorCode(ErrorCodes.NOT_YET_VALID) || e.hasErrorCode(ErrorCodes.ISSUED_AT_INVALID_FUTURE)) {
      return new TokenException(TokenException.Reason.NOT_YET_VALID, "the token is not valid before "
          + when(claims, "nbf") + " (issued " + when(claims, "iat") + ")");
    }
    if (e.hasErrorCode(ErrorCodes.EXPIRATION_MISSING) || e.hasErrorCode(ErrorCodes.SUBJECT_MISSING)
        || e.hasErrorCode(ErrorCodes.MALFORMED_CLAIM)) {
      return new TokenException(TokenException.Reason.MISSING_CLAIM, "the token lacks a valid "
          + (e.hasErrorCode(ErrorCodes.EXPIRATION_MISSING) ? "exp" : e.hasErrorCode(ErrorCodes.SUBJECT_MISSING)
              ? "sub" : "claim") + "; tokens need sub and exp");
    }
    // Other refusals (an algorithm not permitted, a key of the wrong type) are signature refusals.
    return new TokenException(TokenException.Reason.BAD_SIGNATURE, "the token does not verify: "
        + e.getErrorDetails().stream().map(d -> d.getErrorMessage()).findFirst().orElse("refused"));
  }

  private static Object safeKid(InvalidJwtException e) {
    try {
      return e.getJwtContext().getJoseObjects().get(0).getKeyIdHeaderValue();
    } catch (RuntimeException none) {
      return null;
    }
  }

  private interface Claim {
    String get() throws MalformedClaimException;
  }

  private static String text(Claim c) {
    try {
      String v = c.get();
      return v == null ? "(none)" : TenantNames.quoted(v);
    } catch (MalformedClaimException e) {
      return "(malformed)";
    }
  }

  private static String when(JwtClaims claims, String name) {
    try {
      NumericDate d = claims.getNumericDateClaimValue(name);
      return d == null ? "(none)" : Instant.ofEpochMilli(d.getValueInMillis()).toString();
    } catch (MalformedClaimException e) {
      return "(malformed)";
    }
  }

  private static VerifiedToken read(JwtClaims c) throws TokenException {
    try {
      Optional<String> tenant = Optional.empty();
      if (c.hasClaim(TENANT_CLAIM)) {
        String t = c.getStringClaimValue(TENANT_CLAIM);
        String problem = TenantNames.problem(t);
        if (problem != null) {
          throw new TokenException(TokenException.Reason.MISSING_CLAIM, "the token's tenant claim: " + problem);
        }
        tenant = Optional.of(t);
      }
      Set<String> roles = new LinkedHashSet<>();
      roles.addAll(list(c, ROLES_CLAIM));
      roles.addAll(list(c, GROUPS_CLAIM));
      List<String> vouch = new ArrayList<>();
      for (String t : list(c, TENANTS_CLAIM)) {
        String problem = TenantNames.problem(t);
        if (problem != null) {
          throw new TokenException(TokenException.Reason.MISSING_CLAIM, "the token's tenants claim: " + problem);
        }
        vouch.add(t);
      }
      NumericDate iat = c.getIssuedAt();
      return new VerifiedToken(c.getSubject(), c.getIssuer(),
          iat == null ? Instant.EPOCH : Instant.ofEpochMilli(iat.getValueInMillis()),
          Instant.ofEpochMilli(c.getExpirationTime().getValueInMillis()), tenant, roles, vouch);
    } catch (MalformedClaimException e) {
      throw new TokenException(TokenException.Reason.MISSING_CLAIM, "a claim has the wrong type: " + e.getMessage());
    }
  }

  private static List<String> list(JwtClaims c, String name) throws MalformedClaimException {
    if (!c.hasClaim(name)) {
      return List.of();
    }
    if (c.isClaimValueString(name)) {
      return List.of(c.getStringClaimValue(name));
    }
    return c.getStringListClaimValue(name);
  }
}
