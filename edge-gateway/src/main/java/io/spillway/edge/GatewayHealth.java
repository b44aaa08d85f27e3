package io.spillway.edge;

import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.registry.Node;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/** Health of the gateway: ready once it can place sessions, live while its gRPC server accepts. */
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

  /** UP while the gateway's gRPC server (sessions and node registration) is serving. */
  @Liveness
  @ApplicationScoped
  static class Grpc implements HealthCheck {

    @Inject
    GatewayCore core;

    @Override
    public HealthCheckResponse call() {
      return HealthCheckResponse.named("spillway-grpc").status(core.serving())
          .withData("address", core.address()).build();
    }
  }
}
