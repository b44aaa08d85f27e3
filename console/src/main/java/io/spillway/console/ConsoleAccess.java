package io.spillway.console;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which role a token presented to the console has: the seam the security work replaces.
 *
 * <p>With no tokens declared the console is <b>open</b>: anyone is an admin, and the console says "no
 * authentication configured" on every page. With tokens declared ({@code spillway.console.admin-tokens},
 * {@code spillway.console.read-only-tokens}) the console asks for one and shows the actions only to the
 * admin role. <b>This guards the console's pages, not the API</b>: the admin API (revoke, rebalance)
 * stays open to anyone who can reach the port until the gateways check credentials themselves; the
 * console says so. When they do, {@link #resolve} is what asks them instead of these lists.
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
   * What the console shows a caller.
   *
   * @param authentication {@code none} (open) or {@code console-tokens}
   * @param role the caller's role
   * @param notice what the console prints in its banner
   */
  public record Access(String authentication, Role role, String notice) {}

  static final String OPEN_NOTICE = "no authentication configured: anyone who reaches this port may revoke "
      + "and rebalance leases";
  static final String TOKENS_NOTICE = "console tokens hide actions from read-only users in this console only; "
      + "the admin API itself is not yet guarded";

  private final Map<String, Role> tokens;

  private ConsoleAccess(Map<String, Role> tokens) {
    this.tokens = Map.copyOf(tokens);
  }

  public static ConsoleAccess open() {
    return new ConsoleAccess(Map.of());
  }

  /**
   * @throws IllegalArgumentException naming the key, when a token is blank or declared for both roles
   */
  public static ConsoleAccess of(List<String> adminTokens, List<String> readOnlyTokens) {
    Map<String, Role> tokens = new HashMap<>();
    put(tokens, adminTokens, Role.ADMIN, "spillway.console.admin-tokens");
    put(tokens, readOnlyTokens, Role.READ_ONLY, "spillway.console.read-only-tokens");
    return new ConsoleAccess(tokens);
  }

  private static void put(Map<String, Role> tokens, List<String> list, Role role, String key) {
    for (String t : list) {
      if (t == null || t.isBlank()) {
        throw new IllegalArgumentException(key + " holds an empty token; every token must be non-empty");
      }
      Role before = tokens.put(t.strip(), role);
      if (before != null && before != role) {
        throw new IllegalArgumentException(key + " holds a token that spillway.console."
            + (before == Role.ADMIN ? "admin-tokens" : "read-only-tokens")
            + " also holds; a token has one role");
      }
    }
  }

  public boolean isOpen() {
    return tokens.isEmpty();
  }

  /**
   * The access of a caller presenting {@code token} (null or blank: none presented). Empty when tokens
   * are declared and this one is not among them.
   */
  public Optional<Access> resolve(String token) {
    if (isOpen()) {
      return Optional.of(new Access("none", Role.ADMIN, OPEN_NOTICE));
    }
    if (token == null || token.isBlank()) {
      return Optional.empty();
    }
    return Optional.ofNullable(tokens.get(token.strip()))
        .map(role -> new Access("console-tokens", role, TOKENS_NOTICE));
  }
}
