package io.spillway.gateway.app;

import io.smallrye.config.WithDefault;
import io.spillway.config.Doc;
import io.spillway.pool.config.GatewayConfig;
import java.time.Duration;

/** The {@code limits.*} keys of a gateway: what one client connection, stream or frame may take of it. */
public interface LimitsGroup {
  @Doc(value = "ops one client frame may hold, counted before the frame is parsed; a frame with more is "
      + "answered with a `RESOURCE_EXHAUSTED` error reply (seq 0, op `frame`), not forwarded and not "
      + "journaled, and the session goes on", type = "count")
  @WithDefault("65536")
  int maxFrameOps();

  @Doc("how long a new session stream may take to send its open before it ends with `DEADLINE_EXCEEDED`")
  @WithDefault("10s")
  Duration firstFrameTimeout();

  @Doc("how long an open session may send no frame (bytes of one still arriving count), receive none and "
      + "wait for no answer before it ends "
      + "with `FAILED_PRECONDITION` and its slices go back; `0s`: never")
  @WithDefault("30m")
  Duration idleTimeout();

  @Doc(value = "concurrent session streams on one client connection (its HTTP/2 `MAX_CONCURRENT_STREAMS`)",
      type = "count")
  @WithDefault("1024")
  int maxStreamsPerConnection();

  @Doc("how often the gateway pings a quiet client connection; `0s`: never")
  @WithDefault("30s")
  Duration keepaliveTime();

  @Doc("how long such a ping may go unanswered before the connection and its sessions are dropped")
  @WithDefault("10s")
  Duration keepaliveTimeout();

  @Doc("how long replies may wait on a client stream that is not ready (a client that does not read them) "
      + "before the session ends with `RESOURCE_EXHAUSTED` and its slices go back")
  @WithDefault("30s")
  Duration replyStallTimeout();

  /** These limits for the gateway core; {@code prefix} (e.g. {@code spillway.edge.limits.}) names keys in errors. */
  default GatewayConfig.Limits toCore(String prefix) {
    return GatewayConfig.Limits.fromKeys(prefix, maxFrameOps(), firstFrameTimeout(), idleTimeout(),
        maxStreamsPerConnection(), keepaliveTime(), keepaliveTimeout(), replyStallTimeout());
  }
}
