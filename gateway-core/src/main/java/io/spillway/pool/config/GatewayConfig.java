package io.spillway.pool.config;

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
 * @param limits what one client connection, stream or frame may take of the gateway
 * @param tls TLS on the gateway's server and on every connection it makes; empty: plaintext
 */
public record GatewayConfig(String name, String pool, String host, int grpcPort, Duration heartbeatInterval,
    Duration heartbeatTimeout, TenantQuotas quotas, Transport transport, Limits limits, Optional<Tls> tls) {

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

  /** In plaintext. */
  public GatewayConfig(String name, String pool, String host, int grpcPort, Duration heartbeatInterval,
      Duration heartbeatTimeout, TenantQuotas quotas, Transport transport, Limits limits) {
    this(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport, limits, Optional.empty());
  }

  /**
   * What one client may take of the gateway. Each is refused with a status that names it and its value,
   * and costs no other session anything.
   *
   * @param maxFrameOps ops one client frame may hold; a frame with more is answered with a
   *     {@code RESOURCE_EXHAUSTED} error reply (seq 0, op {@code frame}), not forwarded and not journaled
   * @param firstFrameTimeout how long a new session stream may take to send its open before it ends
   *     with {@code DEADLINE_EXCEEDED}
   * @param idleTimeout how long an open session may see no frame either way (a frame still arriving
   *     counts as one) and wait for no answer before it ends with {@code FAILED_PRECONDITION}
   *     ({@link Duration#ZERO}: never)
   * @param maxStreamsPerConnection concurrent streams on one client connection
   * @param keepAliveTime how often the gateway pings a quiet client connection ({@link Duration#ZERO}:
   *     never)
   * @param keepAliveTimeout how long such a ping may go unanswered before the connection is dropped
   * @param replyStallTimeout how long replies may wait on a client stream that is not ready (a client
   *     that does not read) before the session ends with {@code RESOURCE_EXHAUSTED} and its slices go back
   */
  public record Limits(int maxFrameOps, Duration firstFrameTimeout, Duration idleTimeout,
      int maxStreamsPerConnection, Duration keepAliveTime, Duration keepAliveTimeout,
      Duration replyStallTimeout) {

    public static final Duration DEFAULT_REPLY_STALL_TIMEOUT = Duration.ofSeconds(30);

    public Limits {
      if (maxFrameOps < 1) {
        throw new IllegalArgumentException("max-frame-ops must be at least 1, got " + maxFrameOps);
      }
      if (maxStreamsPerConnection < 1) {
        throw new IllegalArgumentException("max-streams-per-connection must be at least 1, got "
            + maxStreamsPerConnection);
      }
      if (firstFrameTimeout.isNegative() || firstFrameTimeout.isZero()) {
        throw new IllegalArgumentException("first-frame-timeout must be positive, got " + firstFrameTimeout);
      }
      if (idleTimeout.isNegative() || keepAliveTime.isNegative()) {
        throw new IllegalArgumentException("idle-timeout and keepalive-time must not be negative, got "
            + idleTimeout + " and " + keepAliveTime);
      }
      if (keepAliveTimeout.isNegative() || keepAliveTimeout.isZero()) {
        throw new IllegalArgumentException("keepalive-timeout must be positive, got " + keepAliveTimeout);
      }
      if (replyStallTimeout == null || replyStallTimeout.isNegative() || replyStallTimeout.isZero()) {
        throw new IllegalArgumentException("reply-stall-timeout must be positive, got " + replyStallTimeout);
      }
    }

    /** With the default reply stall timeout. */
    public Limits(int maxFrameOps, Duration firstFrameTimeout, Duration idleTimeout, int maxStreamsPerConnection,
        Duration keepAliveTime, Duration keepAliveTimeout) {
      this(maxFrameOps, firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout,
          DEFAULT_REPLY_STALL_TIMEOUT);
    }

    /**
     * The limits a gateway's keys give; a bad value is refused naming its key ({@code keyPrefix} and the
     * key's own name, for example {@code spillway.edge.limits.max-frame-ops}).
     */
    public static Limits fromKeys(String keyPrefix, int maxFrameOps, Duration firstFrameTimeout,
        Duration idleTimeout, int maxStreamsPerConnection, Duration keepAliveTime, Duration keepAliveTimeout,
        Duration replyStallTimeout) {
      try {
        return new Limits(maxFrameOps, firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime,
            keepAliveTimeout, replyStallTimeout);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(keyPrefix + e.getMessage(), e);
      }
    }

    /**
     * 65536 ops a frame, an open within 10 s, 30 min idle, 1024 streams a connection, pings 30 s / 10 s,
     * replies stalled 30 s.
     */
    public static Limits defaults() {
      return new Limits(65_536, Duration.ofSeconds(10), Duration.ofMinutes(30), 1024, Duration.ofSeconds(30),
          Duration.ofSeconds(10));
    }

    public Limits withMaxFrameOps(int v) {
      return new Limits(v, firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout,
          replyStallTimeout);
    }

    public Limits withFirstFrameTimeout(Duration v) {
      return new Limits(maxFrameOps, v, idleTimeout, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout,
          replyStallTimeout);
    }

    public Limits withIdleTimeout(Duration v) {
      return new Limits(maxFrameOps, firstFrameTimeout, v, maxStreamsPerConnection, keepAliveTime, keepAliveTimeout,
          replyStallTimeout);
    }

    public Limits withMaxStreamsPerConnection(int v) {
      return new Limits(maxFrameOps, firstFrameTimeout, idleTimeout, v, keepAliveTime, keepAliveTimeout,
          replyStallTimeout);
    }

    public Limits withReplyStallTimeout(Duration v) {
      return new Limits(maxFrameOps, firstFrameTimeout, idleTimeout, maxStreamsPerConnection, keepAliveTime,
          keepAliveTimeout, v);
    }
  }

  /** With the default limits. */
  public GatewayConfig(String name, String pool, String host, int grpcPort, Duration heartbeatInterval,
      Duration heartbeatTimeout, TenantQuotas quotas, Transport transport) {
    this(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport, Limits.defaults());
  }

  /**
   * How the gateway's connections behave. A node or center that vanishes without closing its
   * connections (a cut link, a frozen host) is found by keepalive: no answer to a ping within the
   * timeout breaks the streams, which are then rebuilt elsewhere. Servers permit pings every second.
   *
   * @param keepAliveTime how often an upstream connection is probed (the gateway's upstream probe; HTTP/2 pings
   *     are asked for at this rate too, but grpc-java sends them at most every 10 s)
   * @param keepAliveTimeout how long a probe may go unanswered before the connection is closed and its
   *     sessions rebuilt elsewhere: a hung server is found within {@code keepAliveTime + keepAliveTimeout}
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

  /** With the default transport settings. */
  public GatewayConfig(String name, String pool, String host, int grpcPort, Duration heartbeatInterval,
      Duration heartbeatTimeout, TenantQuotas quotas) {
    this(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, Transport.defaults());
  }

  public GatewayConfig {
    java.util.Objects.requireNonNull(transport, "transport");
    java.util.Objects.requireNonNull(limits, "limits");
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
    return new GatewayConfig(name, pool, host, grpcPort, interval, timeout, quotas, transport, limits, tls);
  }

  public GatewayConfig withQuotas(TenantQuotas quotas) {
    return new GatewayConfig(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport, limits, tls);
  }

  public GatewayConfig withPort(int port) {
    return new GatewayConfig(name, pool, host, port, heartbeatInterval, heartbeatTimeout, quotas, transport, limits, tls);
  }

  public GatewayConfig withTransport(Transport transport) {
    return new GatewayConfig(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport,
        limits, tls);
  }

  /** With TLS on every hop (see {@link Tls}). */
  public GatewayConfig withTls(Tls tls) {
    return new GatewayConfig(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport,
        limits, Optional.of(tls));
  }

  public GatewayConfig withLimits(Limits limits) {
    return new GatewayConfig(name, pool, host, grpcPort, heartbeatInterval, heartbeatTimeout, quotas, transport,
        limits, tls);
  }
}
