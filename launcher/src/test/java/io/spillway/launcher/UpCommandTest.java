package io.spillway.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.client.DeviceBuffer;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.security.token.TokenIssuer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code spillway up}: what it refuses before starting anything, and how it keeps a federation up. */
class UpCommandTest {

  private record Run(int exit, String out, String err) {}

  private static Run runInProcess(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int exit = new CommandLine(new SpillwayCommand()).execute(args);
      return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void aBusyPortIsRefusedWithOneLineEachAndNothingStarts(@TempDir Path dir) throws Exception {
    SmallTopology t = new SmallTopology(dir);
    long pid = ProcessHandle.current().pid();
    try (ServerSocket kafka = new ServerSocket(t.kafka, 1, InetAddress.getLoopbackAddress());
         ServerSocket http = new ServerSocket()) {
      // Another program on every interface takes the edge gateway's HTTP port too.
      http.bind(new InetSocketAddress(t.edgeHttp), 1);
      for (String command : List.of("up", "demo")) {
        Path logs = dir.resolve(command + "-logs");
        Run r = runInProcess(command, t.file.toString(), "--logs", logs.toString());
        String[] err = r.err().split("\\R");
        assertEquals(Preflight.REFUSED, r.exit(), command + ": " + r.err());
        assertEquals(3, err.length, command + ": a line per problem and a summary: " + r.err());
        assertTrue(err[0].matches("kafka: port " + t.kafka + " \\(kafka\\.port, " + java.util.regex.Pattern.quote(
            t.file.toString()) + ":4\\) is taken by pid " + pid + " \\(java .*\\)"), err[0]);
        assertTrue(err[1].startsWith("edge-a: port " + t.edgeHttp + " (edges[0].gateway.httpPort, " + t.file + ":15) "
            + "is taken by pid " + pid + " ("), err[1]);
        assertEquals("spillway " + command + ": 2 problems found before starting; nothing was started.", err[2]);
        assertEquals("", r.out(), command + " printed: " + r.out());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
        assertFalse(Files.exists(logs), command + " created its log folder");
        assertEquals(0, ProcessHandle.current().children().count(), command + " started a process");
      }
    }
  }

  @Test
  void aLogFolderThatCannotBeCreatedIsRefused(@TempDir Path dir) throws Exception {
    SmallTopology t = new SmallTopology(dir);
    Path file = Files.writeString(dir.resolve("a-file"), "");
    Run r = runInProcess("up", t.file.toString(), "--logs", file.resolve("logs").toString());
    assertEquals(Preflight.REFUSED, r.exit(), r.err());
    assertTrue(r.err().startsWith("folder " + file.resolve("logs") + " (--logs) cannot be created: " + file
        + " is a file"), r.err());
  }

  @Test
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void aKilledComponentIsStartedAgainAndTheSiteServesNewSessions(@TempDir Path dir) throws Exception {
    SmallTopology t = new SmallTopology(dir);
    Path logs = dir.resolve("logs");
    try (Launched up = Launched.spillway("up", t.file.toString(), "--driver", "host", "--logs", logs.toString())) {
      up.await(l -> l.contains("A component that exits is started again"), 240);
      assertTrue(up.output().contains("Credentials are on."), up.output());
      // Credentials are on: a session needs a token, signed with the run's throwaway key.
      String token = TokenIssuer.fromFile(logs.resolve("auth/signing-key.pem"), "spillway", "spillway",
          java.time.Clock.systemUTC()).issue(TokenIssuer.Claims.tenant("t", java.time.Duration.ofMinutes(10)));
      // TLS is on too: the anonymous client trusts the run's CA and sends no token.
      try (SpillwayClient anonymous = SpillwayClient.builder("127.0.0.1:" + t.edgeGrpc)
          .trustedCa(logs.resolve("pki").resolve("ca.crt")).build()) {
        SpillwayException refused = org.junit.jupiter.api.Assertions.assertThrows(SpillwayException.class,
            () -> anonymous.open(SliceRequest.builder().tenant("t").memoryBytes(1L << 20).build()).close());
        assertEquals(io.grpc.Status.Code.UNAUTHENTICATED, refused.code(), refused.getMessage());
      }
      // The broker serves SASL_SSL with a certificate of the run's CA, which the gateways' clients trust.
      String edgeKafka = Files.readString(logs.resolve("kafka-security").resolve("edge-a.kafka.properties"));
      assertTrue(edgeKafka.contains("security.protocol=SASL_SSL"), edgeKafka.replaceAll("password=\\S+", "password=..."));
      assertTrue(edgeKafka.contains("ssl.truststore.location=" + logs.resolve("pki").resolve("kafka").resolve("ca.crt")
          .toAbsolutePath()), "the edge trusts the run's CA for Kafka");
      assertTrue(up.output().contains("| edge-a | edge gateway | 127.0.0.1:" + t.edgeGrpc), up.output());
      assertTrue(Files.isRegularFile(logs.resolve("edge-a.log")), "the table names logs that exist");
      List<ProcessHandle> components = up.process.descendants().toList();
      ProcessHandle edge = components.stream()
          .filter(p -> p.info().arguments().map(a -> List.of(a).contains("-Dspillway.edge.name=edge-a")).orElse(false))
          .findFirst().orElseThrow(() -> new AssertionError("no edge gateway among " + components));

      edge.destroyForcibly();
      up.await(l -> l.contains("edge-a (edge gateway) exited: killed by SIGKILL (exit code 137); starting it again in 1 s"), 60);
      up.await(l -> l.contains("edge-a is up again"), 120);
      assertTrue(up.output().contains("---- last 10 lines of "), "the dead component's log is shown: " + up.output());

      // The edge serves at once: on the center's cards until its own GPU server, whose channel backs
      // off from reconnecting, registers again.
      float[] data = {1f, 2f, 3f};
      float[] back = null;
      String ranOn = "";
      Exception last = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
      while (back == null && System.nanoTime() < deadline) {
        try (SpillwayClient client = SpillwayClient.builder("127.0.0.1:" + t.edgeGrpc)
                .trustedCa(logs.resolve("pki").resolve("ca.crt")).build().token(token);
             GpuSession gpu = client.open(SliceRequest.builder().tenant("t").memoryBytes(1L << 20).build())) {
          DeviceBuffer b = gpu.alloc(4L * data.length);
          gpu.upload(b, data);
          back = gpu.downloadFloats(b, data.length);
          ranOn = gpu.devices().get(0).node();
        } catch (RuntimeException e) {
          last = e;
          Thread.sleep(500);
        }
      }
      assertArrayEquals(data, back, "no session on the restarted edge: " + last);
      assertTrue(List.of("edge-a-gpu", "center-gpu").contains(ranOn), ranOn);

      // SIGTERM through the handle: Process.destroy() would also close our end of its output.
      up.process.toHandle().destroy();
      int exit = up.waitFor(60);
      List<String> stopped = new ArrayList<>();
      for (String l : up.lines()) {
        if (l.startsWith("  stopped ")) {
          stopped.add(l.substring("  stopped ".length()));
        }
      }
      assertEquals(List.of("edge-a-gpu", "edge-a", "center-gpu", "center-gw", "kafka"), stopped,
          "clients before what they use (exit " + exit + "):\n" + up.output());
      for (ProcessHandle p : up.process.descendants().toList()) {
        assertFalse(p.isAlive(), "left running: " + p.pid() + " " + p.info().commandLine().orElse(""));
      }
      for (ProcessHandle p : components) {
        assertTrue(p.onExit().get(10, TimeUnit.SECONDS) != null && !p.isAlive(), "left running: " + p.pid());
      }
      assertTrue(Files.isRegularFile(logs.resolve("edge-a.log")), "the logs outlive the run");
      assertTrue(Files.readString(logs.resolve("edge-a.log")).contains("---- started again"),
          "the restarted edge's log goes on in the same file");
    }
  }
}
