package io.spillway.pool.gateway;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.spillway.pool.model.GpuSpec;
import io.spillway.pool.registry.HeartbeatResult;
import io.spillway.pool.registry.NodeRegistration;
import io.spillway.protocol.v1.GpuCard;
import io.spillway.protocol.v1.HeartbeatRequest;
import io.spillway.protocol.v1.HeartbeatResponse;
import io.spillway.protocol.v1.NodeRegistryServiceGrpc;
import io.spillway.protocol.v1.RegisterNodeRequest;
import io.spillway.protocol.v1.RegisterNodeResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registration service nodes call. A node that registers with a new incarnation restarted: whatever
 * the gateway believed ran there is gone, so the node is marked down first and its sessions end.
 */
final class RegistrationService extends NodeRegistryServiceGrpc.NodeRegistryServiceImplBase {

  private final GatewayCore core;
  private final Map<String, String> incarnations = new ConcurrentHashMap<>();

  RegistrationService(GatewayCore core) {
    this.core = core;
  }

  @Override
  public void register(RegisterNodeRequest req, StreamObserver<RegisterNodeResponse> out) {
    NodeRegistration registration;
    try {
      List<GpuSpec> gpus = req.getGpusList().stream().map(RegistrationService::spec).toList();
      registration = new NodeRegistration(req.getNodeId(), req.getAddress(), req.getPool(), gpus);
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription("registration of node '" + req.getNodeId()
          + "': " + e.getMessage()).asRuntimeException());
      return;
    }
    String previous = incarnations.put(req.getNodeId(), req.getIncarnation());
    if (previous != null && !previous.equals(req.getIncarnation())) {
      core.registry().markDown(req.getNodeId(), "it restarted (new incarnation)");
    }
    core.registry().register(registration);
    out.onNext(RegisterNodeResponse.newBuilder()
        .setHeartbeatIntervalMillis((int) core.config().heartbeatInterval().toMillis())
        .setGateway(core.config().name()).build());
    out.onCompleted();
  }

  @Override
  public void heartbeat(HeartbeatRequest req, StreamObserver<HeartbeatResponse> out) {
    String known = incarnations.get(req.getNodeId());
    HeartbeatResponse.Builder r = HeartbeatResponse.newBuilder();
    if (known == null || !known.equals(req.getIncarnation())) {
      r.setRegisterAgain(true).setMessage("node " + req.getNodeId() + " is not registered with this incarnation");
    } else if (core.registry().heartbeat(req.getNodeId()) instanceof HeartbeatResult.RegisterFirst first) {
      r.setRegisterAgain(true).setMessage(first.message());
    }
    out.onNext(r.build());
    out.onCompleted();
  }

  private static GpuSpec spec(GpuCard c) {
    return new GpuSpec(c.getIndex(), c.getUuid(), c.getModel(), c.getMemoryBytes(), c.getComputeCapability(),
        c.getReserveBytes());
  }
}
