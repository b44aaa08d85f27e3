package io.spillway.security.token;

import java.util.regex.Pattern;

/**
 * What a tenant name may be. A tenant name becomes a log field, a metric label and a Kafka record field,
 * so it is checked before any of those see it, whether it came from a verified token or (with
 * credentials off) from the client's open.
 *
 * <p>A name is 1 to {@value #MAX_LENGTH} characters of {@code A-Z a-z 0-9 . _ -}, starting with a letter
 * or digit: what a Kubernetes namespace, a Prometheus label value and a file name all take without
 * quoting.
 */
public final class TenantNames {
  public static final int MAX_LENGTH = 63;
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0," + (MAX_LENGTH - 1) + "}");

  private TenantNames() {}

  public static boolean isValid(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  /**
   * Why {@code name} is not a tenant name, or null when it is one. The answer shows at most the first
   * 64 characters of the name, with control characters escaped, so it is safe to log and to send.
   */
  public static String problem(String name) {
    if (name == null || name.isEmpty()) {
      return "tenant is empty";
    }
    if (name.length() > MAX_LENGTH) {
      return "tenant " + quoted(name) + " has " + name.length() + " characters; at most " + MAX_LENGTH;
    }
    if (!NAME.matcher(name).matches()) {
      return "tenant " + quoted(name) + " is not a tenant name: it must be letters, digits, '.', '_' or '-', "
          + "starting with a letter or digit";
    }
    return null;
  }

  /** {@code name} itself when valid; otherwise an IllegalArgumentException saying why. */
  public static String require(String name) {
    String problem = problem(name);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return name;
  }

  /** The name in quotes, cut to 64 characters, with anything outside printable ASCII escaped. */
  public static String quoted(String name) {
    StringBuilder b = new StringBuilder("'");
    int n = Math.min(name.length(), 64);
    for (int i = 0; i < n; i++) {
      char c = name.charAt(i);
      if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
        b.append(c);
      } else {
        b.append(String.format("\\u%04x", (int) c));
      }
    }
    return b.append(n < name.length() ? "...'" : "'").toString();
  }
}
