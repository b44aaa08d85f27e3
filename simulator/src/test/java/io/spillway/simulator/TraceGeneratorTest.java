package io.spillway.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.simulator.trace.TraceGenerator;
import io.spillway.simulator.trace.TraceSession;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TraceGeneratorTest {

  private static final TraceGenerator.Settings SETTINGS =
      TraceGenerator.Settings.defaults(List.of("a", "b", "c")).withMinutes(24 * 60);

  @Test
  void theSameSeedGivesTheSameTraceAndAnotherSeedAnother() {
    List<TraceSession> one = TraceGenerator.generate(SETTINGS);
    assertEquals(one, TraceGenerator.generate(SETTINGS));
    assertNotEquals(one, TraceGenerator.generate(SETTINGS.withSeed(2)));
  }

  @Test
  void theEmpiricalDistributionsMatchTheDocumentedOnes() {
    List<TraceSession> trace = TraceGenerator.generate(SETTINGS);
    int n = trace.size();
    // Poisson arrivals: 6/min over 1440 min gives 8640 ± 93 (one standard deviation).
    assertEquals(6 * 1440, n, 4 * Math.sqrt(6 * 1440));
    double[] gaps = new double[n - 1];
    for (int i = 1; i < n; i++) {
      gaps[i - 1] = trace.get(i).arrivalSeconds() - trace.get(i - 1).arrivalSeconds();
      assertTrue(gaps[i - 1] >= 0, "arrivals in order");
    }
    assertEquals(10.0, Arrays.stream(gaps).average().orElseThrow(), 0.5, "mean gap 60/λ s");

    // Memory: weights 25, 25, 15, 15, 10, 10 % over 2, 4, 6, 8, 12, 16 GiB.
    Map<Long, Integer> memory = new HashMap<>();
    trace.forEach(s -> memory.merge(s.memoryBytes() >> 30, 1, Integer::sum));
    assertEquals(Map.of(2L, 0, 4L, 0, 6L, 0, 8L, 0, 12L, 0, 16L, 0).keySet(), memory.keySet());
    double[] weights = {0.25, 0.25, 0.15, 0.15, 0.10, 0.10};
    long[] sizes = {2, 4, 6, 8, 12, 16};
    for (int i = 0; i < sizes.length; i++) {
      assertEquals(weights[i], memory.get(sizes[i]) / (double) n, 0.02, sizes[i] + " GiB");
    }

    // Compute: uniform over 5, 10, 15.
    Map<Integer, Integer> compute = new HashMap<>();
    trace.forEach(s -> compute.merge(s.computePercent(), 1, Integer::sum));
    assertEquals(3, compute.size());
    compute.forEach((c, count) -> assertEquals(1 / 3.0, count / (double) n, 0.02, c + "%"));

    // Duration: log-normal, median 20 min (μ = ln 1200 s), σ = 0.8.
    double[] logs = trace.stream().mapToDouble(s -> Math.log(s.durationSeconds())).sorted().toArray();
    double mean = Arrays.stream(logs).average().orElseThrow();
    double sd = Math.sqrt(Arrays.stream(logs).map(x -> (x - mean) * (x - mean)).sum() / (n - 1));
    assertEquals(Math.log(1200), mean, 0.03);
    assertEquals(0.8, sd, 0.03);
    assertEquals(1200, Math.exp(logs[n / 2]), 60, "median duration, seconds");

    // Tenants: uniform.
    Map<String, Integer> tenants = new HashMap<>();
    trace.forEach(s -> tenants.merge(s.tenant(), 1, Integer::sum));
    tenants.forEach((t, count) -> assertEquals(1 / 3.0, count / (double) n, 0.02, t));
    assertTrue(trace.stream().allMatch(s -> s.models().isEmpty()), "no labels by default");
  }

  @Test
  void modelLabelsGoOnTheDocumentedShareOfSessions() {
    List<TraceSession> trace = TraceGenerator.generate(SETTINGS.withModelLabels(List.of("V100", "P40"), 0.3));
    long labelled = trace.stream().filter(s -> s.models().equals(List.of("V100", "P40"))).count();
    assertEquals(0.3, labelled / (double) trace.size(), 0.02);
    assertTrue(trace.stream().allMatch(s -> s.models().isEmpty() || s.models().equals(List.of("V100", "P40"))));
  }
}
