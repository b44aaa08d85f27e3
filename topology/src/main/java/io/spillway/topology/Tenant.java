package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import java.util.List;

/** A tenant and its quotas, which hold across the whole federation (edges and center together). */
public record Tenant(
    @JsonProperty(required = true)
    @JsonPropertyDescription("Tenant name, as slice requests carry it; unique.")
    String name,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Most sessions the tenant may have open at once, at least 1.")
    int maxSessions,

    @JsonProperty(required = true)
    @JsonPropertyDescription("Most device memory the tenant's slices may hold at once.")
    DataSize maxMemory,

    @JsonProperty(defaultValue = "[]")
    @JsonPropertyDescription("Names of the edges the tenant may use; empty or absent: every edge.")
    List<String> edges) {

  public Tenant {
    edges = edges == null ? List.of() : List.copyOf(edges);
  }

  public boolean mayUse(String edgeName) {
    return edges.isEmpty() || edges.contains(edgeName);
  }
}
