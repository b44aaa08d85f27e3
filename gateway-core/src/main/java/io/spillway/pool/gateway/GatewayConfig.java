package io.spillway.pool.gateway;

import io.spillway.pool.placement.TenantQuotas;
import io.spillway.security.tls.TlsFiles;
import java.time.Duration;
import java.util.Optional;

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
 * @param transport the gateway's streams to its nodes and center gateways
 * @param tls TLS on the gateway's server and on every connection it makes; empty: plaintext
 */
public record GatewayConfig(String name, String pool, String host, int grpcPort, Duration heartbeatInterval,
    Duration heartbeatTimeout, TenantQuotas quotas, Transport transport, Optional<Tls> tls) {

  /**
   * TLS on every hop of a gateway. Its server presents {@code files}' certificate to clients, nodes and
   * edges and verifies theirs against the trusted CA; its connections to nodes and to center gateways
   * present the same certificate and accept only the component they dialed (the node registered at that
   * address, of this gateway's pool, or a center gateway). Node registration then requires a node
   * certificate naming the node id and this gateway's pool. Plaintext is refused.
   *
   * @param files the gateway's certificate, key and trusted CA (PEM), followed when they change
   * @param requireClientCertificates true: a client must present a certificate to connect at all (a
   *     center, which only edges and nodes call); false: a client may connect without one (an edge, whose
   *     tenants may prove themselves with a token only) and its calls carry no peer identity
   */
  public record Tls(TlsFiles files, boolean requireClientCertificates) {
    public Tls {
      java.util.Objects.requireNonNull(files, "files");
    }
  }

  /**
   * How the gateway's connections behave. A node or center that vanishes without closing its
   * connections (a cut link, a frozen host) is found by keepalive: no answer to a ping within the
   * timeout breaks the streams, which are then rebuilt elsewhere. Servers permit pings every second.
   *
   * @param keepAliveTime how often an upstream connection with streams is pinged
   * @param keepAliveTimeout how long a ping may go unanswered before the connection is closed
   * @param connectTimeout how long a connection to an upstream may take to establish
   * @param flowControlWindowBytes the HTTP/2 flow-control window of every stream, both ways
   */
  public record Transport(Duration keepAliveTime, Duration keepAliveTimeout, Duration connectTimeout,
      int flowControlWindowBytes) {

    public Transport {
      if (keepAliveTime.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException("keepAliveTime must be at least 1s (what servers permit), got "
            + keepAliveTime);
      }
      if (keepAliveTimeout.isNegative() || keepAliveTimeout.isZero()) {
        throw new IllegalArgumentException("keepAliveTimeout must be positive, got " + keepAliveTimeout);
      }
      if (connectTimeout.isNegative() || connectTimeout.isZero()) {
        throw new IllegalArgumentException("connectTimeout must be positive, got " + connectTimeout);
      }
      if (flowControlWindowBytes < 65_535) {
        throw new IllegalArgumentException("flowControlWindowBytes must be at least 65535, got "
            + flowControlWindowBytes);
      }
    }

    /** Keepalive 2 s, answered within 2 s; connect within 3 s; a 16 MiB window. */
    public static Transport defaults() {
      return new Transport(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(3), 16 << 20);
    }
  }

  /** With the default transport settings, in plaintext. */
  public GatewayConfig(String name, String pool, String host, int grpcPort, Duration heartbeatInterval,
      Duration heartbeatTimeout, TenantQuotas quotas) {
    this(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, Transport.defaults());
  }

  /** In plaintext. */
  public GatewayConfig(String name, String pool, String host, int grpcPort, Duration heartbeatInterval,
      Duration heartbeatTimeout, TenantQuotas quotas, Transport transport) {
    this(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport, Optional.empty());
  }

  public GatewayConfig {
    java.util.Objects.requireNonNull(transport, "transport");
    java.util.Objects.requireNonNull(tls, "tls");
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
    return new GatewayConfig(name, pool, host, grpcPort, interval, timeout, quotas, transport, tls);
  }

  public GatewayConfig withQuotas(TenantQuotas quotas) {
    return new GatewayConfig(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport, tls);
  }

  public GatewayConfig withPort(int port) {
    return new GatewayConfig(name, pool, host, port, heartbeatInterval, heartbeatTimeout, quotas, transport, tls);
  }

  /** With TLS on every hop (see {@link Tls}). */
  public GatewayConfig withTls(Tls tls) {
    return new GatewayConfig(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport,
        Optional.of(tls));
  }

  public GatewayConfig withTransport(Transport transport) {
    return new GatewayConfig(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport, tls);
  }
}
