package io.spillway.bench;

import io.spillway.agent.AgentConfig;
import io.spillway.agent.AgentServer;
import io.spillway.agent.SliceSpec;
import io.spillway.client.DeviceBuffer;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An unmodified CUDA program (cuda-shim/src/test/cuda/shim_bench.cu, built here with nvcc) through shim ->
 * agent -> edge -> node (host driver), beside the SDK's own round trip and bulk copy through the same edge,
 * and a plain Unix-socket round trip and bulk stream between the same program and this JVM, all in one run.
 *
 * <pre>java -cp bench/target/spillway-bench.jar io.spillway.bench.ShimBench [--quick]</pre>
 */
public final class ShimBench {

  private static final long MIB = 1L << 20;

  public static void main(String[] args) throws Exception {
    boolean quick = List.of(args).contains("--quick");
    int iters = quick ? 300 : 2000;
    Path home = Path.of(System.getProperty("spillway.home", ".")).toAbsolutePath().normalize();
    Path shim = home.resolve("cuda-shim/target/lib");
    Path source = home.resolve("cuda-shim/src/test/cuda/shim_bench.cu");
    if (!Files.exists(shim.resolve("libcuda.so.1")) || !Files.exists(source)) {
      System.err.println("run from the repository root after building cuda-shim (no " + shim + "/libcuda.so.1 or " + source + ")");
      System.exit(2);
    }
    Path tmp = Files.createTempDirectory("spillway-shim-bench");
    Path exe = tmp.resolve("shim_bench");
    Process nvcc = new ProcessBuilder("nvcc", "-O2", "-o", exe.toString(), source.toString()).inheritIO().start();
    if (nvcc.waitFor() != 0) {
      System.err.println("nvcc failed on " + source + ": the benchmark needs nvcc on the PATH");
      System.exit(2);
    }
    GpuNode node = new GpuNode(new NodeOptions("node-1", "edge/bench", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 4096 * MIB));
    try (GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
        GatewayCore edge = new GatewayCore(GatewayConfig.local("edge-bench", "edge/bench"), Clock.systemUTC(),
            GatewayListener.NONE).failover(FailoverConfig.defaults()).start();
        GatewayRegistrar registrar = new GatewayRegistrar(node, edge.address(), "127.0.0.1:" + server.port(), 500)
            .start();
        AgentServer agent = AgentServer.start(new AgentConfig(tmp.resolve("agent.sock"), edge.address(), "bench",
            SliceSpec.parse("memory=1GiB"), 0, 1));
        SpillwayClient client = SpillwayClient.connect(edge.address())) {
      while (!edge.ready()) {
        Thread.sleep(10);
      }
      Map<String, Double> sdk = sdkFigures(client, iters);
      Path echo = tmp.resolve("echo.sock");
      Thread echoer = echoServer(echo, iters);
      ProcessBuilder pb = new ProcessBuilder(exe.toString(), String.valueOf(iters), echo.toString());
      pb.environment().put("LD_LIBRARY_PATH", shim.toString());
      pb.environment().put("SPILLWAY_AGENT_SOCKET", agent.socket().toString());
      pb.environment().put("SPILLWAY_SLICE", "memory=1GiB");
      pb.redirectErrorStream(true);
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0 || !out.contains("PASS shim_bench")) {
        System.err.println("shim_bench failed:\n" + out);
        System.exit(1);
      }
      echoer.join(10_000);
      Map<String, Double> shimFig = new LinkedHashMap<>();
      for (String line : out.split("\n")) {
        if (line.startsWith("RESULT ")) {
          String[] f = line.split("\\s+");
          shimFig.put(f[1], Double.parseDouble(f[2]));
        }
      }
      System.out.printf(Locale.ROOT, "%d cores, java %s, %d iterations; node: host driver; path: program -> shim -> agent -> edge -> node%n%n",
          Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), iters);
      System.out.println("| figure | unmodified program (shim) | baseline in the same run | ratio |");
      System.out.println("| --- | --- | --- | --- |");
      row("4-byte D2H cudaMemcpy", shimFig.get("d2h4_us"), "us", "SDK read of 4 bytes", sdk.get("read4_us"), true);
      row("cudaDeviceSynchronize", shimFig.get("sync_us"), "us", "SDK synchronize", sdk.get("sync_us"), true);
      row("cudaMalloc + cudaFree", shimFig.get("malloc_us"), "us", "plain socket round trip", shimFig.get("socket_rtt_us"), true);
      row("launches issued per s", shimFig.get("launch_issue_per_s"), "/s", "-", null, false);
      row("launches completed per s", shimFig.get("launch_done_per_s"), "/s", "-", null, false);
      row("4-byte D2H cudaMemcpy vs plain socket", shimFig.get("d2h4_us"), "us", "plain socket round trip",
          shimFig.get("socket_rtt_us"), true);
      row("H2D cudaMemcpy 64 MiB", shimFig.get("h2d_gbs"), "GB/s", "SDK write + synchronize", sdk.get("h2d_gbs"), false);
      row("D2H cudaMemcpy 64 MiB", shimFig.get("d2h_gbs"), "GB/s", "SDK read", sdk.get("d2h_gbs"), false);
      row("H2D cudaMemcpy 64 MiB vs plain socket", shimFig.get("h2d_gbs"), "GB/s", "plain socket stream",
          shimFig.get("socket_bulk_gbs"), false);
    }
  }

  private static void row(String what, Double value, String unit, String baseline, Double base, boolean lowerIsBetter) {
    String v = value == null ? "-" : String.format(Locale.ROOT, "%.2f %s", value, unit);
    String b = base == null ? "-" : String.format(Locale.ROOT, "%s: %.2f %s", baseline, base, unit);
    String r = value == null || base == null ? "-" : String.format(Locale.ROOT, "%.2f", value / base);
    System.out.printf(Locale.ROOT, "| %s | %s | %s | %s |%n", what, v, b, r);
  }

  private static Map<String, Double> sdkFigures(SpillwayClient client, int iters) {
    Map<String, Double> m = new LinkedHashMap<>();
    try (GpuSession s = client.open(SliceRequest.builder().tenant("bench").memoryBytes(512 * MIB).build())) {
      DeviceBuffer small = s.alloc(4);
      s.write(small, 0, new byte[4]);
      for (int i = 0; i < 100; i++) {
        s.read(small, 0, 4);
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < iters; i++) {
        s.read(small, 0, 4);
      }
      m.put("read4_us", (System.nanoTime() - t0) / 1e3 / iters);
      t0 = System.nanoTime();
      for (int i = 0; i < iters; i++) {
        s.synchronize();
      }
      m.put("sync_us", (System.nanoTime() - t0) / 1e3 / iters);
      int bulk = 64 << 20;
      DeviceBuffer big = s.alloc(bulk);
      ByteBuffer data = ByteBuffer.allocateDirect(bulk);
      double h2d = 0;
      double d2h = 0;
      for (int round = 0; round < 3; round++) {
        t0 = System.nanoTime();
        s.write(big, 0, data.clear());
        s.synchronize();
        h2d = bulk / ((System.nanoTime() - t0) / 1e9) / 1e9;
        t0 = System.nanoTime();
        s.read(big, 0, data.clear());
        d2h = bulk / ((System.nanoTime() - t0) / 1e9) / 1e9;
      }
      m.put("h2d_gbs", h2d);
      m.put("d2h_gbs", d2h);
    }
    return m;
  }

  /** Echoes {@code iters} 4-byte pings, then takes bulk rounds ('B', u64 size, bytes) and answers each with a byte. */
  private static Thread echoServer(Path path, int iters) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(path));
    Thread t = new Thread(() -> {
      try (server; SocketChannel ch = server.accept()) {
        ByteBuffer ping = ByteBuffer.allocate(4);
        for (int i = 0; i < iters; i++) {
          ping.clear();
          while (ping.hasRemaining()) {
            if (ch.read(ping) < 0) {
              return;
            }
          }
          ping.flip();
          while (ping.hasRemaining()) {
            ch.write(ping);
          }
        }
        ByteBuffer head = ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer sink = ByteBuffer.allocateDirect(1 << 20);
        while (true) {
          head.clear();
          while (head.hasRemaining()) {
            if (ch.read(head) < 0) {
              return;
            }
          }
          long n = head.getLong(1);
          while (n > 0) {
            sink.clear().limit((int) Math.min(sink.capacity(), n));
            int r = ch.read(sink);
            if (r < 0) {
              return;
            }
            n -= r;
          }
          ch.write(ByteBuffer.wrap(new byte[] {1}));
        }
      } catch (IOException e) {
        // the program ended
      }
    }, "shim-bench-echo");
    t.setDaemon(true);
    t.start();
    return t;
  }
}
