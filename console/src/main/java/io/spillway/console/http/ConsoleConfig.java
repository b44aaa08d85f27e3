package io.spillway.console.http;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.spillway.config.Doc;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Every {@code spillway.console.*} key, declared once; the same keys on the edge and the center gateway.
 * Each key's {@link Doc} is its row in the "Console" table of docs/configuration.md, which
 * {@code ConfigurationPage} generates.
 */
@ConfigMapping(prefix = "spillway.console")
public interface ConsoleConfig {

  @Doc(value = "the other gateways the console shows beside this one, each `name=http://host:port` (its "
          + "HTTP port); `spillway up` and `demo` set it to every gateway of the topology. This "
          + "gateway reads them for the browser, which talks to one origin only",
      type = "name=url,...")
  Optional<List<String>> peers();

  /** The utilization history. */
  History history();

  interface History {
    @Doc("how often the gateway samples its utilization into the console's in-process history")
    @WithDefault("2s")
    Duration interval();

    @Doc("samples the history keeps (1800 at 2 s: one hour); older ones are dropped")
    @WithDefault("1800")
    int samples();
  }
}
