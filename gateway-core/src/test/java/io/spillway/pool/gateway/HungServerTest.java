package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.node.NodeMain;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.session.GatewayListener;
import io.spillway.testkit.Await;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A GPU server that stops answering without closing its connections (SIGSTOP) is found by the gateway's
 * upstream probe within {@code keepAliveTime + keepAliveTimeout}, long before its heartbeats would time
 * out, and its session moves to the other server with correct results. The servers are real processes.
 */
class HungServerTest {

  private static final long GIB = 1L << 30;

  private static Process node(String id, String gateway) throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), NodeMain.class.getName(), "--port", String.valueOf(port),
        "--node-id", id, "--pool", "edge/hung", "--driver", "host", "--host-cards", "1", "--host-memory", "4GiB",
        "--gateway", gateway, "--heartbeat-interval", "500"));
    Path log = Path.of("target", "hung-" + id + ".log").toAbsolutePath();
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Await.until("node " + id + " started", () -> !p.isAlive() || read(log).contains("READY"));
    assertTrue(p.isAlive(), () -> "node " + id + " exited: " + read(log));
    return p;
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (java.io.IOException e) {
      return "";
    }
  }

  private static void signal(Process p, String sig) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + sig, String.valueOf(p.pid())).inheritIO().start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + sig + " failed");
  }

  private static void check(MlpModel model, MlpService mlp, long seed, int batch) {
    float[] x = model.randomInput(seed, batch);
    float diff = MlpModel.maxAbsDiff(model.forwardCpu(x, batch), mlp.infer(x, batch));
    assertTrue(diff < 1e-4f, "result differs from the CPU reference by " + diff);
  }

  @Test
  void aHungServersSessionMovesWithinTheProbeBound() throws Exception {
    GatewayConfig.Transport transport = GatewayConfig.Transport.defaults();
    // Heartbeats would take a minute: only the probe can find the hung server in time.
    GatewayConfig config = GatewayConfig.local("edge-hung", "edge/hung")
        .withHeartbeat(Duration.ofMillis(500), Duration.ofSeconds(60)).withTransport(transport);
    Duration bound = transport.keepAliveTime().plus(transport.keepAliveTimeout());
    try (GatewayCore edge = new GatewayCore(config, Clock.systemUTC(), GatewayListener.NONE)
        .failover(FailoverConfig.defaults()).start()) {
      Process a = node("node-a", edge.address());
      Process b = node("node-b", edge.address());
      try (SpillwayClient client = SpillwayClient.connect(edge.address())) {
        Await.until("both nodes registered", () -> edge.registry().nodes().size() == 2 && edge.ready());
        GpuSession session = client.open(SliceRequest.builder().tenant("t").memoryBytes(GIB).build());
        String before = session.devices().get(0).node();
        MlpModel model = MlpModel.random(11, 64, 128, 10);
        MlpService mlp = new MlpService(session, model, 8);
        SplittableRandom seeds = new SplittableRandom(5);
        for (int i = 0; i < 3; i++) {
          check(model, mlp, seeds.nextLong(), 1 + i);
        }
        Process victim = before.equals("node-a") ? a : b;
        signal(victim, "STOP");
        // The bound, plus a margin for a loaded machine; heartbeats alone would take 60 s.
        Await.until(bound.plus(Duration.ofSeconds(6)), "the gateway found " + before + " hung and moved the session",
            () -> edge.registry().node(before).map(n -> !n.isUp()).orElse(true)
                && edge.sessions().stream().anyMatch(s -> s.replays() >= 1));
        for (int i = 0; i < 5; i++) {
          check(model, mlp, seeds.nextLong(), 1 + i);
        }
        assertNotEquals(before, session.devices().get(0).node(), "the client was told where the session lives");
        assertEquals(1, edge.sessions().get(0).replays());
        session.close();
      } finally {
        a.destroyForcibly();
        b.destroyForcibly();
        a.waitFor(10, TimeUnit.SECONDS);
        b.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
