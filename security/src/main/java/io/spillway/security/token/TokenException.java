package io.spillway.security.token;

/** A token that did not verify; the message says why in words a caller can act on. */
public final class TokenException extends Exception {

  /** Why a token was refused. */
  public enum Reason {
    /** Not a compact JWS, or its header or claims are not JSON. */
    MALFORMED,
    /** Past its {@code exp}. */
    EXPIRED,
    /** Before its {@code nbf}, or issued in the future. */
    NOT_YET_VALID,
    /** Its {@code aud} does not name this service. */
    WRONG_AUDIENCE,
    /** Its {@code iss} is not the configured issuer. */
    WRONG_ISSUER,
    /** The signature does not verify, or the algorithm is not one accepted. */
    BAD_SIGNATURE,
    /** Its {@code kid} names no key of the key file. */
    UNKNOWN_KEY,
    /** A required claim ({@code sub}, {@code exp}) is missing or of the wrong type. */
    MISSING_CLAIM,
    /** No key to verify with: the key file could not be read. */
    NO_KEYS
  }

  private final Reason reason;

  public TokenException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
