package io.spillway.pool.placement;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * What a session asks of the pool: the same slice on each of {@code gpuCount} distinct cards.
 *
 * @param tenant who pays for it; quotas are per tenant
 * @param gpuCount number of distinct cards, {@code >= 1}
 * @param memory memory on each card
 * @param computePercent share of each card's compute reserved, 0..100; 0 reserves none (the session
 *     shares what reservations leave), as in the session protocol
 * @param models acceptable models (empty: any), matched case-insensitively; kept as given for messages
 * @param excludeModels refused models, matched case-insensitively; wins over {@code models}
 * @param strategy how to choose among cards that fit
 * @param sameNode for {@code gpuCount > 1}: try to put all cards on one node first, and only if no single
 *     node can take them all, spread them across nodes. Ignored for one GPU.
 */
public record SliceRequest(
    String tenant,
    int gpuCount,
    MemoryAsk memory,
    int computePercent,
    List<String> models,
    List<String> excludeModels,
    PlacementStrategy strategy,
    boolean sameNode) {

  public SliceRequest {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(memory, "memory");
    Objects.requireNonNull(strategy, "strategy");
    if (tenant.isBlank()) {
      throw new IllegalArgumentException("tenant must not be blank");
    }
    if (gpuCount < 1) {
      throw new IllegalArgumentException("gpuCount must be >= 1, got " + gpuCount);
    }
    if (computePercent < 0 || computePercent > 100) {
      throw new IllegalArgumentException("computePercent must be in 0..100, got " + computePercent);
    }
    models = distinct(models, "models");
    excludeModels = distinct(excludeModels, "excludeModels");
  }

  public static Builder builder(String tenant) {
    return new Builder(tenant);
  }

  /** True if a card of this model is acceptable, ignoring case. */
  public boolean accepts(String model) {
    String m = model.toLowerCase(Locale.ROOT);
    for (String excluded : excludeModels) {
      if (excluded.toLowerCase(Locale.ROOT).equals(m)) {
        return false;
      }
    }
    if (models.isEmpty()) {
      return true;
    }
    for (String wanted : models) {
      if (wanted.toLowerCase(Locale.ROOT).equals(m)) {
        return true;
      }
    }
    return false;
  }

  /** For messages: {@code "16.0 GiB / 50% compute"}. */
  public String describeSlice() {
    return memory.describe() + " / " + computePercent + "% compute";
  }

  /** For messages: {@code "of any model"}, {@code "of model in [V100]"}, {@code "... and not in [P40]"}. */
  public String describeLabels() {
    if (models.isEmpty() && excludeModels.isEmpty()) {
      return "of any model";
    }
    StringBuilder s = new StringBuilder("of model");
    if (!models.isEmpty()) {
      s.append(" in ").append(models);
    }
    if (!excludeModels.isEmpty()) {
      s.append(models.isEmpty() ? " not in " : " and not in ").append(excludeModels);
    }
    return s.toString();
  }

  private static List<String> distinct(List<String> labels, String what) {
    Objects.requireNonNull(labels, what);
    Set<String> seen = new LinkedHashSet<>();
    List<String> out = new ArrayList<>();
    for (String label : labels) {
      Objects.requireNonNull(label, what + " element");
      String trimmed = label.trim();
      if (trimmed.isEmpty()) {
        throw new IllegalArgumentException(what + " must not contain a blank label");
      }
      if (seen.add(trimmed.toLowerCase(Locale.ROOT))) {
        out.add(trimmed);
      }
    }
    return List.copyOf(out);
  }

  /**
   * Builds a {@link SliceRequest}. Defaults: one GPU, 100% compute (as the wire protocol's 0 means),
   * any model, {@link PlacementStrategy#BINPACK}, {@code sameNode = true}. Memory has no default: call
   * {@link #memoryBytes} or {@link #memoryPercent}.
   */
  public static final class Builder {
    private final String tenant;
    private int gpuCount = 1;
    private MemoryAsk memory;
    private int computePercent = 0;
    private List<String> models = List.of();
    private List<String> excludeModels = List.of();
    private PlacementStrategy strategy = PlacementStrategy.BINPACK;
    private boolean sameNode = true;

    private Builder(String tenant) {
      this.tenant = tenant;
    }

    public Builder gpus(int count) {
      this.gpuCount = count;
      return this;
    }

    public Builder memoryBytes(long bytes) {
      this.memory = new MemoryAsk.Bytes(bytes);
      return this;
    }

    public Builder memoryPercent(int percent) {
      this.memory = new MemoryAsk.PercentOfCard(percent);
      return this;
    }

    public Builder computePercent(int percent) {
      this.computePercent = percent;
      return this;
    }

    public Builder models(String... models) {
      this.models = List.of(models);
      return this;
    }

    public Builder excludeModels(String... models) {
      this.excludeModels = List.of(models);
      return this;
    }

    public Builder strategy(PlacementStrategy strategy) {
      this.strategy = strategy;
      return this;
    }

    public Builder sameNode(boolean sameNode) {
      this.sameNode = sameNode;
      return this;
    }

    public SliceRequest build() {
      if (memory == null) {
        throw new IllegalArgumentException("tenant " + tenant + ": slice request has no memory; "
            + "set memoryBytes or memoryPercent");
      }
      return new SliceRequest(tenant, gpuCount, memory, computePercent, models, excludeModels,
          strategy, sameNode);
    }
  }
}
