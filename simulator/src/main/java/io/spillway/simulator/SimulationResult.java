package io.spillway.simulator;

import java.util.List;

/**
 * Every policy's run over one trace on one topology.
 *
 * @param topology the topology's name
 * @param sessions sessions in the trace
 * @param cards every simulated card: the edges' in topology order, then the center's
 * @param stepSeconds the sampling step
 * @param windowStartSeconds start of the busy window the means are taken over
 * @param windowEndSeconds end of the busy window (the last arrival)
 * @param policies one result per policy, in the order asked
 */
public record SimulationResult(
    String topology,
    int sessions,
    List<CardInfo> cards,
    double stepSeconds,
    double windowStartSeconds,
    double windowEndSeconds,
    List<PolicyResult> policies) {

  public SimulationResult {
    cards = List.copyOf(cards);
    policies = List.copyOf(policies);
  }

  public PolicyResult policy(Policy policy) {
    return policies.stream().filter(p -> p.policy().equals(policy)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("policy " + policy + " was not simulated"));
  }
}
