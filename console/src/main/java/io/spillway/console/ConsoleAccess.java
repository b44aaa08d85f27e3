package io.spillway.console;

import io.spillway.security.token.TokenException;
import io.spillway.security.token.TokenRoles;
import io.spillway.security.token.TokenVerifier;
import io.spillway.security.token.VerifiedToken;
import java.util.Objects;

/**
 * Who may use a gateway's HTTP API (the admin API, the pool's and sessions' pages, the console), decided
 * from the {@code Authorization: Bearer <token>} header of each request.
 *
 * <p><b>Open</b> (no key file configured, {@code spillway.auth.keys} unset): anyone is an admin, the
 * actor of an order is whatever the request says ({@code X-Spillway-Admin}), and the console says "no
 * authentication configured" on every page. <b>Tokens</b> ({@code spillway.auth.keys} set): every
 * request needs a signed token with role {@link TokenRoles#READ_ONLY} (reads) or {@link TokenRoles#ADMIN}
 * (reads and orders); the actor of an order is the token's subject. Missing, expired or forged tokens
 * are answered 401, a valid token without the role 403.
 *
 * <p>Thread-safe.
 */
public final class ConsoleAccess {

  public enum Role {
    ADMIN("admin"), READ_ONLY("read-only");

    private final String label;

    Role(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /**
   * What a caller may do.
   *
   * @param authentication {@code none} (open) or {@code token}
   * @param role the caller's role
   * @param subject who the token names (open: empty)
   * @param notice what the console prints in its banner
   */
  public record Access(String authentication, Role role, String subject, String notice) {}

  /** The answer to one request: {@link Granted} or {@link Refused}. */
  public sealed interface Decision {}

  public record Granted(Access access) implements Decision {}

  /**
   * @param status 401 (no valid token) or 403 (a valid token without the role)
   * @param message what is wrong, for the caller
   */
  public record Refused(int status, String message) implements Decision {}

  static final String OPEN_NOTICE = "no authentication configured: anyone who reaches this port may revoke "
      + "and rebalance leases";
  static final String TOKENS_NOTICE = "signed tokens: the admin API checks the role of every request's token";

  private final TokenVerifier verifier;

  private ConsoleAccess(TokenVerifier verifier) {
    this.verifier = verifier;
  }

  public static ConsoleAccess open() {
    return new ConsoleAccess(null);
  }

  public static ConsoleAccess tokens(TokenVerifier verifier) {
    return new ConsoleAccess(Objects.requireNonNull(verifier, "verifier"));
  }

  public boolean isOpen() {
    return verifier == null;
  }

  /**
   * Whether the holder of {@code authorization} (the whole header, null when absent) may read
   * ({@code order} false) or give orders ({@code order} true).
   */
  public Decision authorize(String authorization, boolean order) {
    if (isOpen()) {
      return new Granted(new Access("none", Role.ADMIN, "", OPEN_NOTICE));
    }
    if (authorization == null || authorization.isBlank()) {
      return new Refused(401, "this gateway asks for a token: send Authorization: Bearer <token> (a token of role "
          + TokenRoles.READ_ONLY + " or " + TokenRoles.ADMIN + "; spillway token issue --role admin)");
    }
    if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7) || authorization.length() <= 7) {
      return new Refused(401, "the Authorization header must be 'Bearer <token>'");
    }
    VerifiedToken token;
    try {
      token = verifier.verify(authorization.substring(7));
    } catch (TokenException e) {
      return new Refused(401, e.getMessage());
    }
    Role role = token.hasRole(TokenRoles.ADMIN) ? Role.ADMIN
        : token.hasRole(TokenRoles.READ_ONLY) ? Role.READ_ONLY : null;
    if (role == null) {
      return new Refused(403, "the token of " + subject(token) + " has neither role " + TokenRoles.ADMIN
          + " nor " + TokenRoles.READ_ONLY);
    }
    if (order && role != Role.ADMIN) {
      return new Refused(403, "the token of " + subject(token) + " has role " + TokenRoles.READ_ONLY
          + "; revoking and rebalancing need role " + TokenRoles.ADMIN);
    }
    return new Granted(new Access("token", role, token.subject(), TOKENS_NOTICE));
  }

  /**
   * Who an order is recorded as given by: the token's subject, or when open, what {@code claimed}
   * (the request's {@code X-Spillway-Admin}) says, unverified, else {@code anonymous}.
   *
   * @throws IllegalStateException when the request is not authorized to give orders (the filter lets
   *     no such request through)
   */
  public String actor(String authorization, String claimed) {
    Decision d = authorize(authorization, true);
    if (!(d instanceof Granted g)) {
      throw new IllegalStateException("not authorized: " + ((Refused) d).message());
    }
    if (!isOpen()) {
      return g.access().subject();
    }
    return claimed == null || claimed.isBlank() ? "anonymous" : claimed.strip();
  }

  private static String subject(VerifiedToken token) {
    String s = token.subject();
    return s.length() > 100 || s.chars().anyMatch(Character::isISOControl)
        ? "(an unprintable subject)" : "'" + s + "'";
  }
}
