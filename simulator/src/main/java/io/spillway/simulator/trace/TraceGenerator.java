package io.spillway.simulator.trace;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Generates a synthetic trace from documented distributions; the same settings and seed give the same
 * trace on every JVM (SplittableRandom's algorithm is specified; the normal deviates are Box-Muller here,
 * not the JDK's, whose algorithm is not).
 *
 * <p>Distributions (defaults in {@link Settings#defaults}):
 * <ul>
 *   <li>arrivals: a Poisson process of {@code ratePerMinute} sessions per minute (exponential gaps of mean
 *       {@code 60 / ratePerMinute} s) over {@code minutes};
 *   <li>memory: {@code memoryGiB[i]} GiB with probability {@code memoryWeights[i] / sum(memoryWeights)};
 *   <li>compute percent: uniform over {@code computePercents};
 *   <li>duration: log-normal, {@code exp(mu + sigma * N(0,1))} seconds;
 *   <li>tenant: uniform over {@code tenants};
 *   <li>models: with probability {@code modelLabelFraction} the session accepts only {@code modelLabels},
 *       otherwise any model.
 * </ul>
 */
public final class TraceGenerator {

  private static final long GIB = 1L << 30;

  /**
   * @param minutes length of the arrival window
   * @param ratePerMinute λ, mean arrivals per minute
   * @param seed the random seed
   * @param tenants tenant names, chosen uniformly
   * @param memoryGiB the memory sizes asked for, GiB
   * @param memoryWeights relative weight of each size (same length as {@code memoryGiB})
   * @param computePercents compute percents, chosen uniformly
   * @param durationMu μ of ln(duration in seconds)
   * @param durationSigma σ of ln(duration in seconds)
   * @param modelLabels models a labelled session accepts
   * @param modelLabelFraction share of sessions that carry {@code modelLabels}, 0..1
   */
  public record Settings(
      double minutes,
      double ratePerMinute,
      long seed,
      List<String> tenants,
      List<Integer> memoryGiB,
      List<Double> memoryWeights,
      List<Integer> computePercents,
      double durationMu,
      double durationSigma,
      List<String> modelLabels,
      double modelLabelFraction) {

    /** {2, 4, 6, 8, 12, 16} GiB. */
    public static final List<Integer> MEMORY_GIB = List.of(2, 4, 6, 8, 12, 16);
    /** Small asks are the common case: weights 25, 25, 15, 15, 10, 10 (%), mean 6.4 GiB. */
    public static final List<Double> MEMORY_WEIGHTS = List.of(25.0, 25.0, 15.0, 15.0, 10.0, 10.0);
    /** Uniform over {5, 10, 15} %: memory, not compute, is what binds on a 32 GiB card. */
    public static final List<Integer> COMPUTE_PERCENTS = List.of(5, 10, 15);
    /** μ = ln(1200): the median duration is 20 minutes. */
    public static final double DURATION_MU = Math.log(1200);
    /** σ = 0.8: mean duration 20 · e^0.32 ≈ 27.5 min, 95th percentile ≈ 74 min. */
    public static final double DURATION_SIGMA = 0.8;
    /**
     * 6 sessions a minute: offered load ≈ 6 × 27.5 min × 6.4 GiB ≈ 1060 GiB held at once, about 2.2 times
     * the province example's edge memory (16 cards, 472 GiB usable), so the edges stay full; with spill,
     * the center (16 × 79 GiB) takes the rest.
     */
    public static final double RATE_PER_MINUTE = 6.0;
    public static final double MINUTES = 24 * 60;
    public static final long SEED = 1;

    public Settings {
      tenants = List.copyOf(tenants);
      memoryGiB = List.copyOf(memoryGiB);
      memoryWeights = List.copyOf(memoryWeights);
      computePercents = List.copyOf(computePercents);
      modelLabels = List.copyOf(modelLabels);
      if (!(minutes > 0) || !(ratePerMinute > 0)) {
        throw new IllegalArgumentException("minutes and rate must be > 0, got " + minutes + " and " + ratePerMinute);
      }
      if (tenants.isEmpty()) {
        throw new IllegalArgumentException("at least one tenant is needed to generate a trace");
      }
      if (memoryGiB.isEmpty() || memoryGiB.size() != memoryWeights.size()) {
        throw new IllegalArgumentException("memoryGiB " + memoryGiB + " and memoryWeights " + memoryWeights
            + " must be non-empty and of the same length");
      }
      if (computePercents.isEmpty()) {
        throw new IllegalArgumentException("computePercents must not be empty");
      }
      if (modelLabelFraction < 0 || modelLabelFraction > 1 || (modelLabelFraction > 0 && modelLabels.isEmpty())) {
        throw new IllegalArgumentException("modelLabelFraction must be in 0..1, with modelLabels when > 0; got "
            + modelLabelFraction + " with " + modelLabels);
      }
    }

    public static Settings defaults(List<String> tenants) {
      return new Settings(MINUTES, RATE_PER_MINUTE, SEED, tenants, MEMORY_GIB, MEMORY_WEIGHTS, COMPUTE_PERCENTS,
          DURATION_MU, DURATION_SIGMA, List.of(), 0);
    }

    public Settings withMinutes(double minutes) {
      return new Settings(minutes, ratePerMinute, seed, tenants, memoryGiB, memoryWeights, computePercents,
          durationMu, durationSigma, modelLabels, modelLabelFraction);
    }

    public Settings withRate(double ratePerMinute) {
      return new Settings(minutes, ratePerMinute, seed, tenants, memoryGiB, memoryWeights, computePercents,
          durationMu, durationSigma, modelLabels, modelLabelFraction);
    }

    public Settings withSeed(long seed) {
      return new Settings(minutes, ratePerMinute, seed, tenants, memoryGiB, memoryWeights, computePercents,
          durationMu, durationSigma, modelLabels, modelLabelFraction);
    }

    public Settings withModelLabels(List<String> labels, double fraction) {
      return new Settings(minutes, ratePerMinute, seed, tenants, memoryGiB, memoryWeights, computePercents,
          durationMu, durationSigma, labels, fraction);
    }
  }

  private TraceGenerator() {}

  /** The sessions, in arrival order. */
  public static List<TraceSession> generate(Settings s) {
    Objects.requireNonNull(s, "settings");
    SplittableRandom random = new SplittableRandom(s.seed());
    double totalWeight = s.memoryWeights().stream().mapToDouble(Double::doubleValue).sum();
    double end = s.minutes() * 60;
    double meanGap = 60 / s.ratePerMinute();
    List<TraceSession> out = new ArrayList<>();
    double t = 0;
    while (true) {
      t += -meanGap * Math.log(1 - random.nextDouble());
      if (t >= end) {
        break;
      }
      double u = random.nextDouble() * totalWeight;
      int m = 0;
      while (m < s.memoryGiB().size() - 1 && u >= s.memoryWeights().get(m)) {
        u -= s.memoryWeights().get(m);
        m++;
      }
      int compute = s.computePercents().get(random.nextInt(s.computePercents().size()));
      double duration = Math.exp(s.durationMu() + s.durationSigma() * gaussian(random));
      String tenant = s.tenants().get(random.nextInt(s.tenants().size()));
      List<String> models = random.nextDouble() < s.modelLabelFraction() ? s.modelLabels() : List.of();
      out.add(new TraceSession(t, duration, tenant, s.memoryGiB().get(m) * GIB, compute, models,
          "generated #" + out.size()));
    }
    return List.copyOf(out);
  }

  /** Box-Muller; one of the pair is dropped, which keeps the stream simple to reason about. */
  private static double gaussian(SplittableRandom random) {
    double u1 = 1 - random.nextDouble(); // (0, 1]
    double u2 = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
