package io.spillway.edge;

import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.registry.Node;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness of the gateway: once it can place sessions. Liveness (gRPC serving) is the shared
 * {@code io.spillway.gateway.app.GrpcLiveness}.
 */
final class GatewayHealth {
  private GatewayHealth() {}

  /** UP once at least one node is up: before that every open would be refused. */
  @Readiness
  @ApplicationScoped
  static class Pool implements HealthCheck {
    @Inject
    GatewayCore core;

    @Override
    public HealthCheckResponse call() {
      long up = core.registry().nodes().stream().filter(Node::isUp).count();
      return HealthCheckResponse.named("spillway-pool")
          .status(core.ready())
          .withData("nodes up", up)
          .withData("nodes known", core.registry().nodes().size())
          .build();
    }
  }

  /**
   * The way to the center, for operators: always UP (a center that is down does not make the edge
   * unready: it still places sessions locally), with the circuit breaker's state as data.
   */
  @Readiness
  @ApplicationScoped
  static class Center implements HealthCheck {
    @Inject
    EdgeGateway edge;

    @Override
    public HealthCheckResponse call() {
      var builder = HealthCheckResponse.named("spillway-center").up();
      edge.spillView().ifPresentOrElse(v -> {
        builder.withData("spilling", "on")
            .withData("centers", String.join(",", v.centers()))
            .withData("preferred center", v.preferredCenter())
            .withData("circuit breaker", v.circuitBreaker().state())
            .withData("circuit breaker since", v.circuitBreaker().since().toString());
        if (v.circuitBreaker().probeAt() != null) {
          builder.withData("probe at", v.circuitBreaker().probeAt().toString());
        }
      }, () -> builder.withData("spilling", "off"));
      return builder.build();
    }
  }
}
