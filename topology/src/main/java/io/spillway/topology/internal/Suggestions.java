package io.spillway.topology.internal;

import java.util.Collection;
import java.util.Locale;
import java.util.Optional;

/**
 * "Did you mean" for misspelt keys, names and labels: the closest candidate by Levenshtein distance,
 * compared case-insensitively, if it is close enough to be a plausible typo.
 */
public final class Suggestions {
  private Suggestions() {
  }

  /** Edit distance (insertions, deletions, substitutions), ignoring case. */
  public static int distance(String a, String b) {
    String s = a.toLowerCase(Locale.ROOT);
    String t = b.toLowerCase(Locale.ROOT);
    int[] previous = new int[t.length() + 1];
    int[] current = new int[t.length() + 1];
    for (int j = 0; j <= t.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= s.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= t.length(); j++) {
        int substitution = previous[j - 1] + (s.charAt(i - 1) == t.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[t.length()];
  }

  /**
   * The candidate closest to {@code input}, if its distance is at most a third of the shorter of the two
   * (at least 1): close enough for a typo, far enough not to suggest {@code port} for {@code host}.
   */
  public static Optional<String> closest(String input, Collection<String> candidates) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : candidates) {
      int d = distance(input, candidate);
      if (d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
    if (best == null) {
      return Optional.empty();
    }
    int allowed = Math.max(1, Math.min(input.length(), best.length()) / 3);
    return bestDistance <= allowed ? Optional.of(best) : Optional.empty();
  }

  /** {@code " (did you mean `x`?)"} or the empty string; {@code quote} wraps the suggestion. */
  public static String didYouMean(String input, Collection<String> candidates, String quote) {
    return closest(input, candidates).map(s -> " (did you mean " + quote + s + quote + "?)").orElse("");
  }
}
