package io.spillway.edge;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * Every {@code spillway.edge.*} key, declared once. The reference table is the "Edge gateway" section of
 * docs/configuration.md; {@code EdgeConfigDocTest} fails when a key or default here and a row there
 * disagree. Durations take {@code 500ms}, {@code 3s}, {@code 1m} or ISO-8601; memory sizes take bytes or
 * a number with {@code K}, {@code M}, {@code G}, {@code T} (powers of 1024).
 */
@ConfigMapping(prefix = "spillway.edge")
public interface EdgeConfig {

  /** The gateway's name, reported to nodes, in session ids and in logs. */
  @WithDefault("edge")
  String name();

  /** The pool this gateway serves; {@code edge/<name>} when not set. */
  Optional<String> pool();

  /** The gRPC server clients and GPU nodes connect to. */
  Grpc grpc();

  /** Node liveness. */
  Heartbeat heartbeat();

  /** The quota of every tenant without an entry under {@code tenants}. */
  Quota defaultQuota();

  /** Quotas of named tenants, replacing the default quota for them. */
  Map<String, Quota> tenants();

  interface Grpc {
    /** Address the session and registration services listen on. */
    @WithDefault("127.0.0.1")
    String host();

    /** Port of the session and registration services; 0 picks a free one (logged at start). */
    @WithDefault("7070")
    int port();
  }

  interface Heartbeat {
    /** How often nodes are asked to heartbeat. */
    @WithDefault("1s")
    Duration interval();

    /** How long a node may stay silent before its GPUs leave the pool; longer than the interval. */
    @WithDefault("3s")
    Duration timeout();
  }

  interface Quota {
    /** Sessions the tenant may hold at once; 0 is unlimited. */
    @WithDefault("0")
    int maxSessions();

    /** Device memory the tenant's slices may add up to; 0 is unlimited. */
    @WithDefault("0")
    MemorySize maxMemory();
  }
}
