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
import io.spillway.security.Caller;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registration service nodes call. A node that registers with a new incarnation restarted: whatever
 * the gateway believed ran there is gone, so the node is marked down first and its sessions end.
 *
 * <p>With TLS on, only the node itself may register or heartbeat: the caller's certificate must name a
 * node of this gateway's pool with the id it registers ({@link Caller#PEER}). Anyone else is refused
 * before anything is changed, so a registration under a live node's id from another identity does not
 * mark the real node down. In plaintext anyone who connects is believed, as before.
 *
 * <p>Threading: each call is handed, with its context, to the gateway's registration thread at once, so
 * a registration or heartbeat never queues behind session work, and a flooding tenant cannot make the
 * gateway miss a healthy node's heartbeats; that thread runs nothing else.
 */
final class RegistrationService extends NodeRegistryServiceGrpc.NodeRegistryServiceImplBase {
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(RegistrationService.class.getName());

  private final GatewayCore core;
  private final java.util.concurrent.Executor thread;
  private final Map<String, String> incarnations = new ConcurrentHashMap<>();

  /** @param thread the registration thread, which runs every call of this service and nothing else */
  RegistrationService(GatewayCore core, java.util.concurrent.Executor thread) {
    this.core = core;
    this.thread = thread;
  }

  /** Why the caller may not speak for {@code nodeId}, or null when it may. */
  private Status refusal(String what, String nodeId) {
    if (!core.tls()) {
      return null;
    }
    PeerIdentity peer = Caller.PEER.get();
    String gateway = "gateway " + core.config().name() + " (pool " + core.config().pool() + ")";
    if (peer == null) {
      return Status.UNAUTHENTICATED.withDescription(what + " of node '" + nodeId + "' refused by " + gateway
          + ": the connection presented no certificate naming a node (spillway://node/<id>?pool=<pool>)");
    }
    if (peer.role() != Role.NODE || !peer.name().equals(nodeId) || !peer.pool().equals(core.config().pool())) {
      return Status.PERMISSION_DENIED.withDescription(what + " of node '" + nodeId + "' refused by " + gateway
          + ": the caller's certificate names " + peer + ", and only node " + nodeId + " of pool "
          + core.config().pool() + " may speak for it");
    }
    return null;
  }

  @Override
  public void register(RegisterNodeRequest req, StreamObserver<RegisterNodeResponse> out) {
    hop(out, () -> registerNow(req, out));
  }

  @Override
  public void heartbeat(HeartbeatRequest req, StreamObserver<HeartbeatResponse> out) {
    hop(out, () -> heartbeatNow(req, out));
  }

  /**
   * Runs {@code call} on the registration thread. A call that throws answers INTERNAL instead of leaving
   * the node waiting for an answer that never comes (its registrar would only see its deadline pass).
   */
  private void hop(StreamObserver<?> out, Runnable call) {
    Runnable guarded = () -> {
      try {
        call.run();
      } catch (RuntimeException | LinkageError e) {
        LOG.log(java.util.logging.Level.WARNING, "node registration call failed", e);
        out.onError(Status.INTERNAL.withDescription("gateway " + core.config().name()
            + " failed on this call: " + e).asRuntimeException());
      }
    };
    try {
      thread.execute(io.grpc.Context.current().wrap(guarded));
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      out.onError(Status.UNAVAILABLE.withDescription("gateway " + core.config().name() + " is shutting down")
          .asRuntimeException());
    }
  }

  private void registerNow(RegisterNodeRequest req, StreamObserver<RegisterNodeResponse> out) {
    Status refused = refusal("registration", req.getNodeId());
    if (refused == null && core.tls() && !req.getPool().equals(core.config().pool())) {
      refused = Status.PERMISSION_DENIED.withDescription("registration of node '" + req.getNodeId()
          + "' refused by gateway " + core.config().name() + ": it registers for pool '" + req.getPool()
          + "', this gateway serves pool " + core.config().pool() + " (as the node's certificate says)");
    }
    if (refused != null) {
      Status r = refused;
      LOG.warning(r::getDescription);
      out.onError(r.asRuntimeException());
      return;
    }
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

  private void heartbeatNow(HeartbeatRequest req, StreamObserver<HeartbeatResponse> out) {
    Status refused = refusal("heartbeat", req.getNodeId());
    if (refused != null) {
      out.onError(refused.asRuntimeException());
      return;
    }
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
        c.getReserveBytes(), c.getMaxSessions());
  }
}
