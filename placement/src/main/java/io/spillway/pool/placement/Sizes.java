package io.spillway.pool.placement;

import java.util.Locale;

/** Byte counts for people: {@code 16.0 GiB}, {@code 512.0 MiB}, {@code 100 B}. */
final class Sizes {
  private static final long KIB = 1024;
  private static final long MIB = KIB * 1024;
  private static final long GIB = MIB * 1024;

  private Sizes() {}

  static String bytes(long n) {
    if (n >= GIB) {
      return String.format(Locale.ROOT, "%.1f GiB", n / (double) GIB);
    }
    if (n >= MIB) {
      return String.format(Locale.ROOT, "%.1f MiB", n / (double) MIB);
    }
    if (n >= KIB) {
      return String.format(Locale.ROOT, "%.1f KiB", n / (double) KIB);
    }
    return n + " B";
  }
}
