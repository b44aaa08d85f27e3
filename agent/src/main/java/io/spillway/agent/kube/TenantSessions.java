package io.spillway.agent.kube;

import io.grpc.Context;
import io.spillway.agent.Gpu;
import io.spillway.agent.SdkGpu;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;

/** Opens a session for a tenant the agent vouches for. */
@FunctionalInterface
public interface TenantSessions {

  Gpu open(String tenant, SliceRequest request);

  /**
   * Through {@code client}, whose channel must carry {@link Vouching}: the request names the tenant, and the
   * call carries it as {@code spillway-on-behalf-of} beside the agent's own credential.
   */
  static TenantSessions vouching(SpillwayClient client) {
    return (tenant, request) -> {
      SliceRequest r = forTenant(request, tenant);
      try {
        return Context.current().withValue(Vouching.TENANT, tenant).call(() -> new SdkGpu(client.open(r)));
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
  }

  /** {@code request} with another tenant. */
  static SliceRequest forTenant(SliceRequest request, String tenant) {
    SliceRequest.Builder b = SliceRequest.builder().tenant(tenant).gpuCount(request.gpuCount())
        .computePercent(request.computePercent()).placement(request.placement());
    if (request.memoryBytes() > 0) {
      b.memoryBytes(request.memoryBytes());
    } else {
      b.memoryPercent(request.memoryPercent());
    }
    if (!request.models().isEmpty()) {
      b.models(request.models().toArray(String[]::new));
    }
    if (!request.excludeModels().isEmpty()) {
      b.excludeModels(request.excludeModels().toArray(String[]::new));
    }
    if (request.clientName() != null) {
      b.clientName(request.clientName());
    }
    return b.build();
  }
}
