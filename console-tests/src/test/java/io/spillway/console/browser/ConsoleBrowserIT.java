package io.spillway.console.browser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.launcher.Federation;
import io.spillway.launcher.Site;
import io.spillway.security.token.KeyFiles;
import io.spillway.security.token.TokenIssuer;
import io.spillway.topology.Topology;
import io.spillway.topology.TopologyLoader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The console in a real browser: a federation of processes (Kafka, a center gateway and its GPU server,
 * an edge gateway and its GPU server, as {@code spillway up} starts them), sessions opened through the
 * edge until one spills, then {@code browser/console.spec.mjs} drives the system's headless Chromium
 * through Playwright and prints one {@code PASS <check>} line per check; this test asserts its exit
 * status and every line.
 *
 * <p>Without node, Chromium or {@code browser/node_modules} ({@code npm ci} in {@code browser/}) the
 * test is skipped with a message, except when {@code CI=true}: there it fails, so CI cannot skip it
 * silently. Screenshots go to {@code target/console-screenshots}, or where {@code -Dconsole.screenshots}
 * says ({@code ../docs/img} refreshes the documentation's).
 */
class ConsoleBrowserIT {

  private static final long GIB = 1L << 30;

  /** Every check the spec reports; the test fails if one is missing from its output. */
  static final List<String> CHECKS = List.of(
      "edge console asks for a token and signs in as admin",
      "edge cards appear with their sessions",
      "center card holds the edge's lease",
      "spill shows up as a GRANTED lease of edge-a",
      "unknown token is refused",
      "admin sees revoke and rebalance",
      "revoke asks for a reason and a confirmation",
      "revoke answered 200 with DRAINING",
      "drain seen DRAINING then ended",
      "tenants list sessions against quotas",
      "utilization charts have axes and lines",
      "read-only token sees leases without actions");

  @Test
  void theConsoleShowsTheFederationAndItsActionsWorkFromTheBrowser() throws Exception {
    Path browser = Path.of("browser").toAbsolutePath();
    Path chromium = Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium"));
    String missing = missing(browser, chromium);
    if (missing != null) {
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true and the console's browser tests cannot run: " + missing);
      }
      Assumptions.abort("console browser tests skipped: " + missing);
    }
    Path shots = Path.of(System.getProperty("console.screenshots", "target/console-screenshots")).toAbsolutePath();
    Files.createDirectories(shots);

    Topology topology = topology();
    // Credentials on at both gateways: a throwaway key; the browser signs in with signed tokens.
    Path auth = Files.createTempDirectory("spillway-console-auth-");
    KeyPair key = KeyFiles.generate();
    KeyFiles.write(key, auth);
    TokenIssuer issuer = new TokenIssuer(key, "spillway", "spillway", Clock.systemUTC());
    String adminToken = issuer.issue(TokenIssuer.Claims.admin("console-admin", Duration.ofHours(1)));
    String readOnlyToken = issuer.issue(TokenIssuer.Claims.readOnly("console-viewer", Duration.ofHours(1)));
    String keys = "-Dspillway.auth.keys=" + auth.resolve("jwks.json");
    Federation.Options options = Federation.Options.defaults().withCenterProperties(List.of(keys,
        "-Dspillway.console.history.interval=1s",
        // Long enough that a poll each second sees the lease DRAINING before it ends.
        "-Dspillway.center.drain-duration=8s"))
        .withEdgeProperties(List.of(keys, "-Dspillway.console.history.interval=1s"));
    long t0 = System.nanoTime();
    try (Federation federation = Federation.start(topology, System.out, "host", options);
        SpillwayClient acme = federation.client(federation.component("edge-a").grpc(),
            SpillwayClient.Options.defaults())
            .token(issuer.issue(TokenIssuer.Claims.tenant("acme", Duration.ofHours(1))));
        SpillwayClient globex = federation.client(federation.component("edge-a").grpc(),
            SpillwayClient.Options.defaults())
            .token(issuer.issue(TokenIssuer.Claims.tenant("globex", Duration.ofHours(1))))) {
      List<GpuSession> sessions = new ArrayList<>();
      try {
        // Two 16 GiB cards: 12 + 3 and 12 GiB fit; 10 GiB more does not, so it spills to the center.
        sessions.add(acme.open(slice("acme", 12)));
        sessions.add(acme.open(slice("acme", 12)));
        sessions.add(acme.open(slice("acme", 3)));
        GpuSession spilled = globex.open(slice("globex", 10));
        sessions.add(spilled);
        assertEquals("center", spilled.devices().get(0).pool(), "the fourth session spills to the center");

        ProcessBuilder pb = new ProcessBuilder("node", "console.spec.mjs").directory(browser.toFile())
            .redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("CHROMIUM", chromium.toString());
        env.put("CENTER_URL", federation.component("center-gw").http());
        env.put("EDGE_URL", federation.component("edge-a").http());
        env.put("ADMIN_TOKEN", adminToken);
        env.put("READ_ONLY_TOKEN", readOnlyToken);
        env.put("SCREENSHOTS", shots.toString());
        long b0 = System.nanoTime();
        Process p = pb.start();
        String output;
        try (InputStream in = p.getInputStream()) {
          output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          fail("the browser spec did not end within 180 s:\n" + output);
        }
        System.out.print(output);
        System.out.printf("console browser test: federation up and sessions open in %.1f s, browser spec %.1f s%n",
            (b0 - t0) / 1e9, (System.nanoTime() - b0) / 1e9);
        if (p.exitValue() != 0) {
          federation.printTails(30);
        }
        assertEquals(0, p.exitValue(), "the browser spec's exit status; its output:\n" + output);
        for (String check : CHECKS) {
          assertTrue(output.contains("PASS " + check + "\n"), "the spec reports '" + check + "':\n" + output);
        }
      } finally {
        for (GpuSession s : sessions) {
          try {
            s.close();
          } catch (RuntimeException e) {
            // a session the revoke moved or ended: closing it is best effort
          }
        }
      }
    }
  }

  private static SliceRequest slice(String tenant, long gib) {
    return SliceRequest.builder().tenant(tenant).memoryBytes(gib * GIB).build();
  }

  /** Why the browser test cannot run here, or null when it can. */
  private static String missing(Path browser, Path chromium) {
    if (!Files.isExecutable(chromium)) {
      return chromium + " is missing (apt-get install chromium, or CHROMIUM=/path/to/chromium)";
    }
    if (!Files.isDirectory(browser.resolve("node_modules/playwright-core"))) {
      return browser.resolve("node_modules/playwright-core") + " is missing (run npm ci in " + browser + ")";
    }
    try {
      Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
        return "node --version failed";
      }
    } catch (IOException | InterruptedException e) {
      return "node is not on the PATH (apt-get install nodejs npm)";
    }
    return null;
  }

  /** console-topology.yaml with free ports. */
  private static Topology topology() throws Exception {
    String text;
    try (InputStream in = ConsoleBrowserIT.class.getResourceAsStream("/console-topology.yaml")) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    for (String port : List.of("kafka", "center-grpc", "center-http", "center-node", "edge-grpc", "edge-http",
        "edge-node")) {
      text = text.replace("${" + port + "}", String.valueOf(Site.freePort()));
    }
    return TopologyLoader.parse(text, "console-topology.yaml");
  }
}
