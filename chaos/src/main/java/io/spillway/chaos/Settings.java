package io.spillway.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How the chaos suite runs.
 *
 * @param topologyFile a topology to use instead of the suite's own ({@code chaos.yaml}); null: the suite's
 * @param driver the GPU nodes' driver: auto, host or jcuda
 * @param clients concurrent load clients, each with its own session
 * @param sliceBytes each session's slice
 * @param batch rows per inference request
 * @param think pause between a client's requests
 * @param requestTimeout how long a request or an open may take before it counts as lost
 * @param warmup load before the first scenario (the baseline phase)
 * @param preFault load in each scenario before its fault
 * @param observe load after the fault before healing
 * @param kafkaOutage how long the broker stays down
 * @param cut how long the edge-center link stays cut
 * @param drain the center's drain duration (how long a revoked lease drains)
 * @param settle the longest wait, after healing, for every client to answer again
 * @param scenarios which scenarios, in order: node, leader, kafka, cut, revoke
 * @param kafkaMode {@code kill} (SIGKILL, then start again on the same port and data) or {@code pause}
 *     (SIGSTOP, then SIGCONT)
 * @param keepLogs keep the components' logs after the run
 */
record Settings(Path topologyFile, String driver, int clients, long sliceBytes, int batch, Duration think,
    Duration requestTimeout, Duration warmup, Duration preFault, Duration observe, Duration kafkaOutage,
    Duration cut, Duration drain, Duration settle, List<String> scenarios, String kafkaMode, boolean keepLogs) {

  static final List<String> ALL = List.of("node", "leader", "kafka", "cut", "revoke");

  Settings {
    scenarios = List.copyOf(scenarios);
    for (String s : scenarios) {
      if (!ALL.contains(s)) {
        throw new IllegalArgumentException("unknown scenario " + s + "; the scenarios are " + ALL);
      }
    }
    if (!kafkaMode.equals("kill") && !kafkaMode.equals("pause")) {
      throw new IllegalArgumentException("kafka mode is " + kafkaMode + "; it must be kill or pause");
    }
    if (clients < 1) {
      throw new IllegalArgumentException("clients is " + clients + "; it must be at least 1");
    }
  }

  /** The command line's defaults. */
  static Settings defaults() {
    return new Settings(null, "host", 10, 2L << 30, 16, Duration.ofMillis(50), Duration.ofSeconds(60),
        Duration.ofSeconds(5), Duration.ofSeconds(4), Duration.ofSeconds(10), Duration.ofSeconds(10),
        Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(30), ALL, "kill", false);
  }

  /** Short phases, for the JUnit test. */
  static Settings quick() {
    return new Settings(null, "host", 8, 2L << 30, 16, Duration.ofMillis(50), Duration.ofSeconds(60),
        Duration.ofSeconds(3), Duration.ofSeconds(3), Duration.ofSeconds(6), Duration.ofSeconds(10),
        Duration.ofSeconds(4), Duration.ofSeconds(4), Duration.ofSeconds(15), ALL, "kill", false);
  }
}
