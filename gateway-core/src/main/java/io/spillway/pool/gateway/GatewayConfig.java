package io.spillway.pool.gateway;

import io.spillway.pool.placement.TenantQuotas;
import java.time.Duration;

/**
 * Settings of a gateway's core; the Quarkus apps map their configuration keys onto it (see
 * docs/configuration.md).
 *
 * @param name the gateway's name, reported to nodes and in logs
 * @param pool the pool it serves, for example {@code edge/east}
 * @param host address the gRPC server listens on
 * @param grpcPort port of the session and registration services; 0 picks a free one
 * @param heartbeatInterval how often nodes are asked to heartbeat
 * @param heartbeatTimeout how long a node may stay silent before it is marked down
 * @param quotas per-tenant session and memory quotas
 */
public record GatewayConfig(String name, String pool, String host, int grpcPort, Duration heartbeatInterval,
    Duration heartbeatTimeout, TenantQuotas quotas) {

  public GatewayConfig {
    if (heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
      throw new IllegalArgumentException("heartbeatInterval must be positive, got " + heartbeatInterval);
    }
    if (heartbeatTimeout.compareTo(heartbeatInterval) <= 0) {
      throw new IllegalArgumentException("heartbeatTimeout " + heartbeatTimeout
          + " must be longer than heartbeatInterval " + heartbeatInterval);
    }
    if (grpcPort < 0 || grpcPort > 65535) {
      throw new IllegalArgumentException("grpcPort must be 0..65535, got " + grpcPort);
    }
  }

  /** Defaults for tests and the launcher: loopback, a free port, 1 s heartbeats, 3 s timeout. */
  public static GatewayConfig local(String name, String pool) {
    return new GatewayConfig(name, pool, "127.0.0.1", 0, Duration.ofSeconds(1), Duration.ofSeconds(3),
        TenantQuotas.unlimited());
  }

  public GatewayConfig withHeartbeat(Duration interval, Duration timeout) {
    return new GatewayConfig(name, pool, host, grpcPort, interval, timeout, quotas);
  }

  public GatewayConfig withQuotas(TenantQuotas quotas) {
    return new GatewayConfig(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas);
  }

  public GatewayConfig withPort(int port) {
    return new GatewayConfig(name, pool, host, port, heartbeatInterval, heartbeatTimeout, quotas);
  }
}
