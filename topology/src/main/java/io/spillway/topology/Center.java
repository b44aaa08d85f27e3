package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import java.time.Duration;
import java.util.List;

/**
 * The center pool: gateway replicas (one of which is the lease leader at a time), the GPU servers whose capacity
 * edges borrow, and the lease timing. Invariants checked by the loader: {@code renewInterval < leaseDuration}
 * and {@code skewMargin < leaseDuration}.
 */
public record Center(
    @JsonProperty(required = true)
    @JsonPropertyDescription("Center gateway replicas; at least one. One is the lease leader at a time.")
    List<Gateway> gateways,

    @JsonProperty(required = true)
    @JsonPropertyDescription("GPU servers of the center pool; at least one.")
    List<GpuServer> gpuServers,

    @JsonProperty(defaultValue = "30s")
    @JsonPropertyDescription("How long a lease lasts without renewal; the center reclaims it after that.")
    Duration leaseDuration,

    @JsonProperty(defaultValue = "10s")
    @JsonPropertyDescription("How often an edge renews the leases it holds; less than `leaseDuration`.")
    Duration renewInterval,

    @JsonProperty(defaultValue = "2s")
    @JsonPropertyDescription("An edge stops using a lease this long before its deadline, for clock skew; less than `leaseDuration`.")
    Duration skewMargin) {

  public Center {
    gateways = gateways == null ? List.of() : List.copyOf(gateways);
    gpuServers = gpuServers == null ? List.of() : List.copyOf(gpuServers);
  }
}
