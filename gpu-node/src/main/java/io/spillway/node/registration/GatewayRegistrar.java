package io.spillway.node.registration;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.node.GpuNode;
import io.spillway.node.driver.GpuDevice;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.security.tls.TlsContexts;
import java.util.Optional;
import io.spillway.protocol.v1.GpuCard;
import io.spillway.protocol.v1.HeartbeatRequest;
import io.spillway.protocol.v1.HeartbeatResponse;
import io.spillway.protocol.v1.NodeRegistryServiceGrpc;
import io.spillway.protocol.v1.RegisterNodeRequest;
import io.spillway.protocol.v1.RegisterNodeResponse;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Keeps a node registered with its pool's gateway: registers at start, heartbeats at the interval the
 * gateway asks for, and registers again whenever the gateway does not know the node (the gateway
 * restarted, or marked the node down after missed heartbeats). A gateway that cannot be reached is
 * retried at the heartbeat interval; the node serves its open sessions meanwhile.
 */
public final class GatewayRegistrar implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(GatewayRegistrar.class.getName());

  private final GpuNode node;
  private final String advertisedAddress;
  private final ManagedChannel channel;
  private final NodeRegistryServiceGrpc.NodeRegistryServiceBlockingStub stub;
  private final ScheduledExecutorService timer;
  private final String incarnation = UUID.randomUUID().toString();
  private final long defaultIntervalMillis;
  private volatile boolean registered;
  private volatile long intervalMillis;

  /**
   * @param gateway host:port of the gateway's registration service
   * @param advertisedAddress host:port at which the gateway reaches this node's session service
   */
  public GatewayRegistrar(GpuNode node, String gateway, String advertisedAddress, long intervalMillis) {
    this(node, gateway, advertisedAddress, intervalMillis, null);
  }

  /**
   * @param tls the node's certificate, key and trusted CA, presented to the gateway (which accepts the
   *     registration only from a certificate naming this node and its pool); the gateway must prove to be
   *     an edge or center gateway of the node's pool. Null: plaintext.
   */
  public GatewayRegistrar(GpuNode node, String gateway, String advertisedAddress, long intervalMillis,
      TlsContexts tls) {
    this.node = node;
    this.advertisedAddress = advertisedAddress;
    this.defaultIntervalMillis = intervalMillis;
    this.intervalMillis = intervalMillis;
    NettyChannelBuilder b = NettyChannelBuilder.forTarget(gateway);
    String pool = node.options().pool();
    this.channel = (tls == null ? b.usePlaintext()
        : b.sslContext(tls.client((host, port, peer) -> peer.isEmpty()
            ? Optional.of("its certificate names no Spillway component")
            : GpuNodeServer.gatewayOfPool(pool, peer.get())))).build();
    this.stub = NodeRegistryServiceGrpc.newBlockingStub(channel);
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-registrar");
      t.setDaemon(true);
      return t;
    });
  }

  public GatewayRegistrar start() {
    timer.execute(this::tick);
    return this;
  }

  public boolean registered() {
    return registered;
  }

  public String incarnation() {
    return incarnation;
  }

  private void tick() {
    try {
      if (!registered) {
        register();
      } else {
        HeartbeatResponse r = stub.withDeadlineAfter(Math.max(1000, intervalMillis), TimeUnit.MILLISECONDS)
            .heartbeat(HeartbeatRequest.newBuilder().setNodeId(node.options().nodeId())
                .setIncarnation(incarnation).setSessions(node.sessions().size()).build());
        if (r.getRegisterAgain()) {
          LOG.info(() -> "gateway asks node " + node.options().nodeId() + " to register again: " + r.getMessage());
          register();
        }
      }
    } catch (StatusRuntimeException e) {
      if (registered) {
        LOG.log(Level.WARNING, "heartbeat to the gateway failed: " + e.getStatus());
      }
      registered = false;
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "registrar error", e);
      registered = false;
    } finally {
      if (!timer.isShutdown()) {
        timer.schedule(this::tick, intervalMillis, TimeUnit.MILLISECONDS);
      }
    }
  }

  private void register() {
    RegisterNodeRequest.Builder req = RegisterNodeRequest.newBuilder().setNodeId(node.options().nodeId())
        .setAddress(advertisedAddress).setPool(node.options().pool()).setDriver(node.driver().name())
        .setIncarnation(incarnation);
    for (GpuDevice g : node.gpus()) {
      req.addGpus(GpuCard.newBuilder().setIndex(g.index()).setUuid(g.uuid()).setModel(g.model())
          .setMemoryBytes(g.memoryBytes()).setComputeCapability(g.computeCapability())
          .setReserveBytes(node.options().reserveBytes())
          .setMaxSessions(node.options().limits().maxSessionsPerCard()));
    }
    RegisterNodeResponse r = stub.withDeadlineAfter(5, TimeUnit.SECONDS).register(req.build());
    intervalMillis = r.getHeartbeatIntervalMillis() > 0 ? r.getHeartbeatIntervalMillis() : defaultIntervalMillis;
    registered = true;
    LOG.info(() -> "node " + node.options().nodeId() + " registered with gateway " + r.getGateway()
        + "; heartbeat every " + intervalMillis + " ms");
  }

  @Override
  public void close() {
    timer.shutdownNow();
    channel.shutdownNow();
  }
}
