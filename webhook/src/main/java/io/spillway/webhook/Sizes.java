package io.spillway.webhook;

/** Byte sizes as pods write them: {@code 8GiB}, {@code 8Gi}, {@code 512MiB}, {@code 16GB}, {@code 1000000}. */
final class Sizes {

  private static final String[][] UNITS = {{"KiB", "1024"}, {"MiB", "1048576"}, {"GiB", "1073741824"},
      {"TiB", "1099511627776"}, {"Ki", "1024"}, {"Mi", "1048576"}, {"Gi", "1073741824"}, {"Ti", "1099511627776"},
      {"KB", "1000"}, {"MB", "1000000"}, {"GB", "1000000000"}, {"TB", "1000000000000"}, {"K", "1024"},
      {"M", "1048576"}, {"G", "1073741824"}, {"T", "1099511627776"}, {"B", "1"}};

  private Sizes() {
  }

  /** The bytes of {@code text}, or -1 when it is not a size. */
  static long parse(String text) {
    String v = text.strip();
    long unit = 1;
    for (String[] u : UNITS) {
      if (v.length() > u[0].length() && v.regionMatches(true, v.length() - u[0].length(), u[0], 0, u[0].length())) {
        unit = Long.parseLong(u[1]);
        v = v.substring(0, v.length() - u[0].length()).strip();
        break;
      }
    }
    if (!v.matches("[0-9]{1,18}")) {
      return -1;
    }
    long n = Long.parseLong(v);
    if (n < 1 || n > Long.MAX_VALUE / unit) {
      return -1;
    }
    return n * unit;
  }
}
