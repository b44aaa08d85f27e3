package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.spillway.topology.internal.Suggestions;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An amount of memory in bytes, written in the topology as {@code "32GiB"}, {@code "32 GiB"},
 * {@code "512MiB"}, {@code "80GB"} (decimal: 80 × 10⁹) or a plain number of bytes ({@code 1024}).
 * Units are case-insensitive; {@code Ki}, {@code Mi}, {@code Gi}, {@code Ti} (Kubernetes style) are
 * accepted as {@code KiB}... A fraction is accepted when it comes to whole bytes ({@code "1.5GiB"}).
 *
 * @param bytes never negative
 */
public record DataSize(long bytes) implements Comparable<DataSize> {

  public static final DataSize ZERO = new DataSize(0);

  /** Canonical spelling to multiplier, in the order the error message lists them. */
  private static final Map<String, Long> UNITS = new LinkedHashMap<>();

  static {
    UNITS.put("B", 1L);
    UNITS.put("KB", 1_000L);
    UNITS.put("MB", 1_000_000L);
    UNITS.put("GB", 1_000_000_000L);
    UNITS.put("TB", 1_000_000_000_000L);
    UNITS.put("KiB", 1L << 10);
    UNITS.put("MiB", 1L << 20);
    UNITS.put("GiB", 1L << 30);
    UNITS.put("TiB", 1L << 40);
  }

  private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([A-Za-z]*)");
  private static final String ACCEPTED = "write a number followed by B, KB, MB, GB, TB (powers of 1000) "
      + "or KiB, MiB, GiB, TiB (powers of 1024), e.g. \"32GiB\", \"512MiB\", \"80GB\", or a plain number of bytes";

  public DataSize {
    if (bytes < 0) {
      throw new IllegalArgumentException(bytes + " is not a size: a size cannot be negative");
    }
  }

  public static DataSize ofBytes(long bytes) {
    return new DataSize(bytes);
  }

  public static DataSize ofMiB(long mib) {
    return new DataSize(Math.multiplyExact(mib, 1L << 20));
  }

  public static DataSize ofGiB(long gib) {
    return new DataSize(Math.multiplyExact(gib, 1L << 30));
  }

  /**
   * Parses a size as written in the topology.
   *
   * @throws IllegalArgumentException {@code "<text>" is not a size: <why>; <what is accepted>}
   */
  public static DataSize parse(String text) {
    String trimmed = text.trim();
    if (trimmed.startsWith("-")) {
      throw notASize(text, "a size cannot be negative");
    }
    Matcher m = SIZE.matcher(trimmed);
    if (!m.matches()) {
      throw notASize(text, ACCEPTED);
    }
    String unit = m.group(2);
    Long multiplier = unit.isEmpty() ? Long.valueOf(1) : multiplier(unit);
    if (multiplier == null) {
      throw notASize(text, "unknown unit \"" + unit + "\"" + Suggestions.didYouMean(unit, UNITS.keySet(), "\"")
          + "; " + ACCEPTED);
    }
    BigDecimal value = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(multiplier));
    BigInteger whole;
    try {
      whole = value.toBigIntegerExact();
    } catch (ArithmeticException e) {
      throw notASize(text, "it is not a whole number of bytes (" + value.toPlainString() + ")");
    }
    if (whole.bitLength() > 63) {
      throw notASize(text, "it is larger than " + Long.MAX_VALUE + " bytes");
    }
    return new DataSize(whole.longValueExact());
  }

  private static Long multiplier(String unit) {
    String u = unit.toLowerCase(Locale.ROOT);
    for (Map.Entry<String, Long> e : UNITS.entrySet()) {
      String canonical = e.getKey().toLowerCase(Locale.ROOT);
      // "Gi" is the Kubernetes spelling of "GiB".
      if (u.equals(canonical) || (canonical.endsWith("ib") && u.equals(canonical.substring(0, 2)))) {
        return e.getValue();
      }
    }
    return null;
  }

  private static IllegalArgumentException notASize(String text, String why) {
    return new IllegalArgumentException("\"" + text + "\" is not a size: " + why);
  }

  /** Jackson entry point: a YAML string is parsed, a YAML integer is a number of bytes. */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  static DataSize fromJson(Object value) {
    if (value instanceof String s) {
      return parse(s);
    }
    if (value instanceof Integer || value instanceof Long) {
      long bytes = ((Number) value).longValue();
      if (bytes < 0) {
        throw new IllegalArgumentException(bytes + " is not a size: a size cannot be negative");
      }
      return new DataSize(bytes);
    }
    throw new IllegalArgumentException(value + " is not a size: " + ACCEPTED);
  }

  public boolean isZero() {
    return bytes == 0;
  }

  public DataSize minus(DataSize other) {
    return new DataSize(bytes - other.bytes);
  }

  @Override
  public int compareTo(DataSize other) {
    return Long.compare(bytes, other.bytes);
  }

  /** The shortest exact spelling that {@link #parse} reads back: {@code 32GiB}, {@code 80GB}, {@code 1000B}. */
  @JsonValue
  @Override
  public String toString() {
    if (bytes == 0) {
      return "0B";
    }
    String best = bytes + "B";
    for (Map.Entry<String, Long> e : UNITS.entrySet()) {
      if (bytes % e.getValue() == 0) {
        String candidate = (bytes / e.getValue()) + e.getKey();
        if (candidate.length() < best.length()) {
          best = candidate;
        }
      }
    }
    return best;
  }
}
