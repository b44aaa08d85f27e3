package io.spillway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.node.NodeMain;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import io.spillway.pool.session.SessionInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A program running when its GPU server is SIGKILLed completes with correct output: the edge rebuilds its
 * session on the other server from the journal, and the program notices nothing. The GPU servers are real
 * processes ({@code spillway node} with the host driver); the edge gateway core and the agent run here.
 */
class ShimFailoverTest {

  static Process node(String id, String gateway) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), NodeMain.class.getName(), "--port", String.valueOf(freePort()), "--node-id", id,
        "--pool", "edge/fo", "--driver", "host", "--host-cards", "1", "--host-memory", "2GiB", "--gateway", gateway,
        "--heartbeat-interval", "200"));
    Path log = Path.of("target", id + ".log").toAbsolutePath();
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    while (p.isAlive() && !Files.readString(log).contains("READY")) {
      Thread.sleep(20);
    }
    return p;
  }

  static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void programCompletesCorrectlyWhenItsGpuServerIsKilled() throws Exception {
    Path exe = CudaPrograms.build("vector_add");
    try (GatewayCore edge = new GatewayCore(GatewayConfig.local("edge-fo", "edge/fo"), Clock.systemUTC(),
        GatewayListener.NONE).failover(FailoverConfig.defaults()).start()) {
      Process a = node("node-a", edge.address());
      Process b = node("node-b", edge.address());
      try {
        while (edge.registry().nodes().size() < 2 || !edge.ready()) {
          Thread.sleep(20);
        }
        Path socket = Files.createTempDirectory("spillway-agent").resolve("agent.sock");
        try (AgentServer agent = AgentServer.start(new AgentConfig(socket, edge.address(), "test",
            SliceSpec.parse("memory=64MiB"), 0, 1))) {
          Process program = CudaPrograms.start(exe, socket, "memory=64MiB", Map.of(), "20000", "400");
          program.getOutputStream().close();
          SessionInfo placed = null;
          while (placed == null && program.isAlive()) {
            List<SessionInfo> s = edge.sessions();
            placed = s.isEmpty() ? null : s.get(0);
            Thread.sleep(5);
          }
          assertTrue(placed != null, "the program's session was placed");
          // Some rounds run on the first server (each round is five or more ops) before it dies; waiting
          // on the edge's count rather than a fixed time keeps the kill mid-run on a fast machine too.
          String sessionId = placed.id();
          long forwarded = 0;
          while (forwarded < 30 && program.isAlive()) {
            forwarded = edge.sessions().stream().filter(si -> si.id().equals(sessionId))
                .mapToLong(SessionInfo::opsForwarded).max().orElse(0);
            Thread.sleep(5);
          }
          Process victim = placed.nodeId().equals("node-a") ? a : b;
          assertTrue(program.isAlive(), "the program is still running when its server dies");
          victim.destroyForcibly(); // SIGKILL
          victim.waitFor(30, TimeUnit.SECONDS);
          int replays = 0;
          while (program.isAlive() && replays == 0) {
            for (SessionInfo si : edge.sessions()) {
              replays = Math.max(replays, si.replays());
            }
            Thread.sleep(5);
          }
          String out = new String(program.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
          assertTrue(program.waitFor(300, TimeUnit.SECONDS));
          assertEquals(0, program.exitValue(), out);
          assertTrue(out.contains("PASS vector_add n=20000 rounds=400"), out);
          assertTrue(replays >= 1, "the edge rebuilt the session on the other server while the program ran");
        }
      } finally {
        a.destroyForcibly();
        b.destroyForcibly();
      }
    }
  }
}
