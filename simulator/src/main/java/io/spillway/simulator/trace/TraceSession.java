package io.spillway.simulator.trace;

import java.util.List;
import java.util.Objects;

/**
 * One session of a trace: when it opens, how long it stays, who asks and for what slice of one GPU.
 *
 * @param arrivalSeconds when the session opens, seconds from the start of the trace, {@code >= 0}
 * @param durationSeconds how long it holds its slice once admitted, {@code > 0}
 * @param tenant the tenant, as named in the topology
 * @param memoryBytes device memory asked for, {@code > 0}
 * @param computePercent compute share asked for, 0..100 (0 reserves none)
 * @param models card models the session accepts; empty accepts any
 * @param origin where the session came from, for messages: {@code "trace.csv:14"} or {@code "generated #12"}
 */
public record TraceSession(
    double arrivalSeconds,
    double durationSeconds,
    String tenant,
    long memoryBytes,
    int computePercent,
    List<String> models,
    String origin) {

  public TraceSession {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(origin, "origin");
    models = List.copyOf(models);
    if (!(arrivalSeconds >= 0) || Double.isInfinite(arrivalSeconds)) {
      throw new IllegalArgumentException(origin + ": arrival must be a finite number >= 0, got " + arrivalSeconds);
    }
    if (!(durationSeconds > 0) || Double.isInfinite(durationSeconds)) {
      throw new IllegalArgumentException(origin + ": duration must be a finite number > 0, got " + durationSeconds);
    }
    if (tenant.isBlank()) {
      throw new IllegalArgumentException(origin + ": tenant must not be blank");
    }
    if (memoryBytes <= 0) {
      throw new IllegalArgumentException(origin + ": memory must be > 0 bytes, got " + memoryBytes);
    }
    if (computePercent < 0 || computePercent > 100) {
      throw new IllegalArgumentException(origin + ": compute percent must be in 0..100, got " + computePercent);
    }
  }

  public double departureSeconds() {
    return arrivalSeconds + durationSeconds;
  }
}
