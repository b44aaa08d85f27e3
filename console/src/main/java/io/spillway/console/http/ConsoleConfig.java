package io.spillway.console.http;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Every {@code spillway.console.*} key, declared once; the same keys on the edge and the center gateway.
 * The reference table is the "Console" section of docs/configuration.md; {@code ConsoleConfigDocTest}
 * fails when a key or default here and a row there disagree.
 */
@ConfigMapping(prefix = "spillway.console")
public interface ConsoleConfig {

  /** Other gateways the console shows beside this one, as name=http://host:port, comma-separated. */
  Optional<List<String>> peers();

  /** The utilization history. */
  History history();

  interface History {
    /** How often the gateway samples its utilization. */
    @WithDefault("2s")
    Duration interval();

    /** Samples kept; older ones are dropped (1800 at 2 s: one hour). */
    @WithDefault("1800")
    int samples();
  }
}
