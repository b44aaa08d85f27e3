package io.spillway.topology;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import java.util.List;
import java.util.Optional;

/**
 * A whole federation as one YAML file describes it: one center pool, its edges, the tenants and their quotas.
 * Obtain one from {@link TopologyLoader}, which fills in defaults and validates it; a {@code Topology} built by
 * hand is not validated.
 *
 * <p>Each component is one YAML key; the annotations on it are the single declaration of that key (required or
 * default, and its documentation). {@code topology.schema.json} and {@code docs/topology.md} are checked
 * against them by tests.
 */
public record Topology(
    @JsonProperty(required = true)
    @JsonPropertyDescription("Name of the federation, shown in logs, metrics and `spillway status`.")
    String name,

    @JsonProperty(required = true)
    @JsonPropertyDescription("How gateways reach Kafka, which carries lease requests, the lease log and renewals.")
    Kafka kafka,

    @JsonProperty(required = true)
    @JsonPropertyDescription("The center pool that edges spill onto.")
    Center center,

    @JsonProperty(required = true)
    @JsonPropertyDescription("The edge sites; at least one.")
    List<Edge> edges,

    @JsonProperty(defaultValue = "[]")
    @JsonPropertyDescription("Tenants and their quotas, enforced at every gateway and where the slice lives.")
    List<Tenant> tenants,

    @JsonProperty(defaultValue = "{}")
    @JsonPropertyDescription("How often GPU servers report to their gateway, and when a silent one is declared lost.")
    Heartbeat heartbeat) {

  public Topology {
    edges = edges == null ? List.of() : List.copyOf(edges);
    tenants = tenants == null ? List.of() : List.copyOf(tenants);
  }

  public Optional<Edge> edge(String edgeName) {
    return edges.stream().filter(e -> e.name().equals(edgeName)).findFirst();
  }

  public Optional<Tenant> tenant(String tenantName) {
    return tenants.stream().filter(t -> t.name().equals(tenantName)).findFirst();
  }
}
