package io.spillway.topology;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as written in the topology: a whole number and a unit, {@code ms}, {@code s}, {@code m},
 * {@code h} or {@code d}, optionally several in decreasing order ({@code "1m30s"}). A bare number is refused:
 * "30" could mean seconds or milliseconds, and a lease ten thousand times too long is a costly guess.
 */
public final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
  private static final String ACCEPTED =
      "write a whole number followed by ms, s, m, h or d, e.g. \"500ms\", \"30s\", \"2m\", or combine them (\"1m30s\")";

  private Durations() {
  }

  /**
   * @throws IllegalArgumentException {@code "<text>" is not a duration: <why>; <what is accepted>}
   */
  public static Duration parse(String text) {
    String trimmed = text.trim();
    if (trimmed.startsWith("-")) {
      throw notADuration(text, "a duration cannot be negative");
    }
    if (trimmed.matches("\\d+")) {
      throw notADuration(text, "a unit is required; " + ACCEPTED);
    }
    Matcher m = PART.matcher(trimmed);
    Duration total = Duration.ZERO;
    int position = 0;
    while (position < trimmed.length()) {
      if (!m.find(position) || m.start() != position) {
        throw notADuration(text, ACCEPTED);
      }
      long amount;
      try {
        amount = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        throw notADuration(text, "the number is too large");
      }
      total = total.plus(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(amount);
        case "s" -> Duration.ofSeconds(amount);
        case "m" -> Duration.ofMinutes(amount);
        case "h" -> Duration.ofHours(amount);
        default -> Duration.ofDays(amount);
      });
      position = m.end();
      while (position < trimmed.length() && trimmed.charAt(position) == ' ') {
        position++;
      }
    }
    if (position == 0) {
      throw notADuration(text, ACCEPTED);
    }
    return total;
  }

  /** The spelling {@link #parse} reads back: {@code 30s}, {@code 500ms}, {@code 1m30s}. */
  public static String format(Duration duration) {
    if (duration.isZero()) {
      return "0s";
    }
    StringBuilder out = new StringBuilder();
    long millis = duration.toMillis();
    long[] sizes = {86_400_000L, 3_600_000L, 60_000L, 1_000L, 1L};
    String[] units = {"d", "h", "m", "s", "ms"};
    for (int i = 0; i < sizes.length; i++) {
      if (millis >= sizes[i]) {
        out.append(millis / sizes[i]).append(units[i]);
        millis %= sizes[i];
      }
    }
    return out.toString();
  }

  private static IllegalArgumentException notADuration(String text, String why) {
    return new IllegalArgumentException("\"" + text + "\" is not a duration: " + why);
  }
}
