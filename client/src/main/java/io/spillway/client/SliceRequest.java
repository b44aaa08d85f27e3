package io.spillway.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a session asks of the pool: how many GPUs, and on each of them how much memory and compute, on
 * which card models. The tenant and the memory (in bytes or percent) are required. Built with {@link #builder()}; every setter and {@link Builder#build()} check their
 * values here, before anything is sent, and throw {@link IllegalArgumentException} naming the field and
 * the value.
 */
public final class SliceRequest {

  /** How the pool picks a card among those that fit. */
  public enum Placement {
    /** The pool's own policy. */
    DEFAULT,
    /** The most used card that still fits, to keep whole cards free. */
    BINPACK,
    /** The least used card, to spread load. */
    SPREAD
  }

  private final String tenant;
  private final int gpuCount;
  private final long memoryBytes;
  private final int memoryPercent;
  private final int computePercent;
  private final List<String> models;
  private final List<String> excludeModels;
  private final Placement placement;
  private final String clientName;

  private SliceRequest(Builder b) {
    this.tenant = b.tenant;
    this.gpuCount = b.gpuCount;
    this.memoryBytes = b.memoryBytes;
    this.memoryPercent = b.memoryPercent;
    this.computePercent = b.computePercent;
    this.models = List.copyOf(b.models);
    this.excludeModels = List.copyOf(b.excludeModels);
    this.placement = b.placement;
    this.clientName = b.clientName;
  }

  public static Builder builder() {
    return new Builder();
  }

  public String tenant() {
    return tenant;
  }

  public int gpuCount() {
    return gpuCount;
  }

  /** Memory on each GPU in bytes, or 0 when given in percent. */
  public long memoryBytes() {
    return memoryBytes;
  }

  /** Memory on each GPU in percent of the card's usable memory, or 0 when given in bytes. */
  public int memoryPercent() {
    return memoryPercent;
  }

  /** Share of each GPU's compute reserved for the session; 0 reserves none. */
  public int computePercent() {
    return computePercent;
  }

  /** Card models to accept; empty accepts any. */
  public List<String> models() {
    return models;
  }

  /** Card models to refuse. */
  public List<String> excludeModels() {
    return excludeModels;
  }

  public Placement placement() {
    return placement;
  }

  /** Free-form identity for the server's logs and metrics; may be empty. */
  public String clientName() {
    return clientName;
  }

  @Override
  public String toString() {
    return "SliceRequest{tenant=" + tenant + ", gpuCount=" + gpuCount
        + (memoryBytes > 0 ? ", memoryBytes=" + memoryBytes : "")
        + (memoryPercent > 0 ? ", memoryPercent=" + memoryPercent : "")
        + ", computePercent=" + computePercent + ", models=" + models + ", excludeModels="
        + excludeModels + ", placement=" + placement + ", clientName=" + clientName + "}";
  }

  /** The most GPUs one session may ask for. */
  public static final int MAX_GPUS = 64;

  public static final class Builder {
    private String tenant;
    private int gpuCount = 1;
    private long memoryBytes;
    private int memoryPercent;
    private int computePercent;
    private final List<String> models = new ArrayList<>();
    private final List<String> excludeModels = new ArrayList<>();
    private Placement placement = Placement.DEFAULT;
    private String clientName = "";

    private Builder() {
    }

    /** Required: the tenant whose quota the session counts against. */
    public Builder tenant(String tenant) {
      if (tenant == null || tenant.isBlank()) {
        throw invalid("tenant", tenant, "a non-blank name");
      }
      this.tenant = tenant;
      return this;
    }

    /** Number of GPUs (1..64), each with the memory and compute asked here; default 1. */
    public Builder gpuCount(int gpuCount) {
      if (gpuCount < 1 || gpuCount > MAX_GPUS) {
        throw invalid("gpuCount", gpuCount, "1.." + MAX_GPUS);
      }
      this.gpuCount = gpuCount;
      return this;
    }

    /** Memory on each GPU in bytes. Exclusive with {@link #memoryPercent}; one of them is required. */
    public Builder memoryBytes(long memoryBytes) {
      if (memoryBytes < 1) {
        throw invalid("memoryBytes", memoryBytes, "at least 1");
      }
      this.memoryBytes = memoryBytes;
      return this;
    }

    /**
     * Memory on each GPU in percent (1..100) of the card's usable memory (its memory less the node's
     * reserve). Exclusive with {@link #memoryBytes}.
     */
    public Builder memoryPercent(int memoryPercent) {
      if (memoryPercent < 1 || memoryPercent > 100) {
        throw invalid("memoryPercent", memoryPercent, "1..100");
      }
      this.memoryPercent = memoryPercent;
      return this;
    }

    /**
     * Share of each GPU's compute reserved for the session (0..100): while the card is busy the session
     * gets at least this share of its time. Default 0: no reservation; such sessions share in equal parts
     * what the reservations on the card leave.
     */
    public Builder computePercent(int computePercent) {
      if (computePercent < 0 || computePercent > 100) {
        throw invalid("computePercent", computePercent, "0..100");
      }
      this.computePercent = computePercent;
      return this;
    }

    /** Accept only these card models (case-insensitive, for example "V100"); adds to earlier calls. */
    public Builder models(String... models) {
      addModels("models", this.models, models);
      return this;
    }

    /** Refuse these card models (case-insensitive); adds to earlier calls. */
    public Builder excludeModels(String... models) {
      addModels("excludeModels", this.excludeModels, models);
      return this;
    }

    public Builder placement(Placement placement) {
      if (placement == null) {
        throw invalid("placement", null, "one of " + List.of(Placement.values()));
      }
      this.placement = placement;
      return this;
    }

    public Builder clientName(String clientName) {
      this.clientName = Objects.requireNonNullElse(clientName, "");
      return this;
    }

    /** Checks the fields together and builds the request. */
    public SliceRequest build() {
      if (tenant == null) {
        throw invalid("tenant", null, "a non-blank name");
      }
      if (memoryBytes == 0 && memoryPercent == 0) {
        throw new IllegalArgumentException("memoryBytes and memoryPercent are both unset; set one of them");
      }
      if (memoryBytes > 0 && memoryPercent > 0) {
        throw new IllegalArgumentException("memoryBytes=" + memoryBytes + " and memoryPercent="
            + memoryPercent + " are both set; set one of them");
      }
      for (String m : models) {
        for (String x : excludeModels) {
          if (m.equalsIgnoreCase(x)) {
            throw new IllegalArgumentException("model " + m
                + " is both in models and in excludeModels");
          }
        }
      }
      return new SliceRequest(this);
    }

    private static void addModels(String field, List<String> into, String[] models) {
      if (models == null) {
        throw invalid(field, null, "card model names");
      }
      for (String m : models) {
        if (m == null || m.isBlank()) {
          throw invalid(field, m == null ? null : "\"" + m + "\"", "non-blank card model names");
        }
        into.add(m.strip());
      }
    }

    private static IllegalArgumentException invalid(String field, Object value, String accepted) {
      return new IllegalArgumentException(field + "=" + value + " is invalid: expected " + accepted);
    }
  }
}
