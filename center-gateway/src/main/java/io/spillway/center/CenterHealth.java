package io.spillway.center;

import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.registry.Node;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness of the center: once it has nodes and takes part in leasing. Liveness (gRPC serving) is the
 * shared {@code io.spillway.gateway.app.GrpcLiveness}.
 */
final class CenterHealth {
  private CenterHealth() {}

  /**
   * UP once at least one node is up and this replica has joined the lease election. Not being the
   * leader is fine: any replica admits sessions under leases and serves the admin API.
   */
  @Readiness
  @ApplicationScoped
  static class Ready implements HealthCheck {
    @Inject
    GatewayCore core;
    @Inject
    CenterApp app;

    @Override
    public HealthCheckResponse call() {
      long up = core.registry().nodes().stream().filter(Node::isUp).count();
      return HealthCheckResponse.named("spillway-center")
          .status(up > 0 && app.leasing())
          .withData("nodes up", up)
          .withData("leasing", app.leasing())
          .withData("leader", app.leader())
          .build();
    }
  }
}
