package io.spillway.gateway.app;

import io.spillway.pool.gateway.GatewayCore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

/** {@code spillway-grpc}: UP while the gateway's gRPC server (sessions and node registration) is serving. */
@Liveness
@ApplicationScoped
public class GrpcLiveness implements HealthCheck {

  @Inject
  GatewayCore core;

  @Override
  public HealthCheckResponse call() {
    return HealthCheckResponse.named("spillway-grpc").status(core.serving())
        .withData("address", core.address()).build();
  }
}
