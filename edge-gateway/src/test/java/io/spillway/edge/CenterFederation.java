package io.spillway.edge;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.spillway.federation.Federation;
import java.util.Map;

/**
 * A center for the edge app to spill onto, started before the app: the {@link Federation} fixture (an
 * embedded Kafka broker with the lease topics, a center gateway leading the leases, one center GPU node
 * with one 32 GiB V100). Sets the edge's {@code spillway.edge.spill.*} keys to point at them.
 */
public class CenterFederation implements QuarkusTestResourceLifecycleManager {

  static final long CENTER_CARD_BYTES = 32L << 30;

  private Federation federation;

  @Override
  public Map<String, String> start() {
    try {
      federation = Federation.builder().centerNode("center-node", 1, CENTER_CARD_BYTES).start();
    } catch (Exception e) {
      throw new IllegalStateException("center federation did not start", e);
    }
    return Map.of(
        "spillway.edge.spill.enabled", "true",
        "spillway.edge.spill.kafka-bootstrap", federation.bootstrap(),
        "spillway.edge.spill.center", federation.centerAddress(),
        "spillway.edge.spill.lease-duration", federation.leases().leaseDuration().toSeconds() + "s",
        "spillway.edge.spill.skew-margin", federation.leases().skewMargin().toSeconds() + "s",
        "spillway.edge.spill.grant-timeout", "10s");
  }

  @Override
  public void stop() {
    if (federation != null) {
      federation.close();
      federation = null;
    }
  }
}
