package io.spillway.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/** Collects benchmark rows (a figure beside its baseline) and prints them as a Markdown table. */
final class Figures {

  private record Row(String what, String spillway, String baseline, String ratio) {}

  private final List<Row> rows = new ArrayList<>();

  /** Bulk rounds run before measuring: the JIT needs several hundred MiB to settle on the copy paths. */
  static final int WARMUP_ROUNDS = 9;
  /** Bulk rounds measured after the warm-up; their median is reported. */
  static final int MEASURED_ROUNDS = 3;

  /** How many bulk rounds to run in all. */
  static int rounds(boolean quick) {
    return quick ? 2 : WARMUP_ROUNDS + MEASURED_ROUNDS;
  }

  /** The median of the rounds after the warm-up (all of them in a quick run). */
  static double steady(double[] rounds) {
    double[] measured = rounds.length > WARMUP_ROUNDS
        ? java.util.Arrays.copyOfRange(rounds, WARMUP_ROUNDS, rounds.length) : rounds.clone();
    java.util.Arrays.sort(measured);
    return measured[measured.length / 2];
  }

  static Histogram histogram() {
    return new Histogram(3_600_000_000_000L, 3);
  }

  static String micros(double nanos) {
    return String.format(Locale.ROOT, "%.1f us", nanos / 1000.0);
  }

  static String rate(double perSecond, String unit) {
    return String.format(Locale.ROOT, "%,.0f %s", perSecond, unit);
  }

  static String gbps(double bytesPerSecond) {
    return String.format(Locale.ROOT, "%.2f GB/s", bytesPerSecond / 1e9);
  }

  void add(String what, String spillway, String baseline, double ratio) {
    rows.add(new Row(what, spillway, baseline, String.format(Locale.ROOT, "%.2f", ratio)));
  }

  void add(String what, String spillway, String baseline, String ratio) {
    rows.add(new Row(what, spillway, baseline, ratio));
  }

  void print(String title, String baselineName) {
    System.out.println();
    System.out.println("## " + title);
    System.out.println();
    System.out.println("| figure | Spillway | " + baselineName + " | ratio |");
    System.out.println("| --- | ---: | ---: | ---: |");
    for (Row r : rows) {
      System.out.println("| " + r.what + " | " + r.spillway + " | " + r.baseline + " | " + r.ratio + " |");
    }
    System.out.flush();
  }
}
