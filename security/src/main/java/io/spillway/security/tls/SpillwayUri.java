package io.spillway.security.tls;

import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The URI subject alternative name that names a component in its certificate:
 * {@code spillway://<role>/<name>} or {@code spillway://<role>/<name>?pool=<url-encoded pool>}.
 *
 * <p>Parsing is strict, since what it returns decides what a peer may do: the scheme and role are
 * lower-case, the name is one path segment of letters, digits, {@code . _ -} (at most 253), the only
 * query parameter is {@code pool} (letters, digits, {@code / . _ -} once decoded), nothing else (no user,
 * port, fragment, second segment or parameter) is allowed. Nodes and edges belong to a pool and must name
 * it; agents and clients belong to none and must not.
 */
public final class SpillwayUri {
  private SpillwayUri() {}

  public static final String SCHEME = "spillway";

  private static final Pattern URI = Pattern.compile(
      "spillway://([a-z]+)/([A-Za-z0-9._-]{1,253})(?:\\?pool=([A-Za-z0-9%._-]{1,506}))?");
  private static final Pattern POOL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9/._-]{0,252}");

  /** Why a URI does not name a component. */
  public static final class InvalidUri extends Exception {
    InvalidUri(String uri, String why) {
      super("'" + uri + "' is not a Spillway component name (spillway://<role>/<name>?pool=<pool>): " + why);
    }
  }

  /** The URI naming {@code id}. */
  public static String of(PeerIdentity id) {
    String base = SCHEME + "://" + id.role().uriName() + "/" + id.name();
    return id.pool().isEmpty() ? base : base + "?pool=" + URLEncoder.encode(id.pool(), StandardCharsets.UTF_8);
  }

  /** Whether {@code uri} is meant to be a Spillway name (its scheme), valid or not. */
  public static boolean isSpillway(String uri) {
    return uri.regionMatches(true, 0, SCHEME + ":", 0, SCHEME.length() + 1);
  }

  /**
   * The component {@code uri} names.
   *
   * @throws InvalidUri saying what is wrong
   */
  public static PeerIdentity parse(String uri) throws InvalidUri {
    Matcher m = URI.matcher(uri);
    if (!m.matches()) {
      throw new InvalidUri(uri, "expected lower-case role, one name segment of [A-Za-z0-9._-], and at most a"
          + " pool parameter");
    }
    Role role;
    try {
      role = Role.valueOf(m.group(1).toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new InvalidUri(uri, "role '" + m.group(1) + "' is none of node, edge, center, agent, client");
    }
    String name = m.group(2);
    if (name.equals(".") || name.equals("..")) {
      throw new InvalidUri(uri, "name '" + name + "' is not a name");
    }
    String pool = "";
    if (m.group(3) != null) {
      try {
        pool = URLDecoder.decode(m.group(3), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw new InvalidUri(uri, "pool is not URL-encoded: " + e.getMessage());
      }
      if (!POOL.matcher(pool).matches()) {
        throw new InvalidUri(uri, "pool '" + pool + "' must be letters, digits and / . _ - (starting with a"
            + " letter or digit)");
      }
    }
    boolean pooled = role == Role.NODE || role == Role.EDGE;
    if (pooled && pool.isEmpty()) {
      throw new InvalidUri(uri, "a " + role.uriName() + " names its pool (?pool=...)");
    }
    if ((role == Role.AGENT || role == Role.CLIENT) && !pool.isEmpty()) {
      throw new InvalidUri(uri, "the " + role.uriName() + " role belongs to no pool");
    }
    return new PeerIdentity(role, name, pool);
  }
}
