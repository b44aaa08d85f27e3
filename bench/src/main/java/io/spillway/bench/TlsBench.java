package io.spillway.bench;

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
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.Pki;
import io.spillway.security.tls.TlsContexts;
import io.spillway.security.tls.TlsFiles;
import io.spillway.security.tls.TlsProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * What TLS costs one hop, measured in one run: client -> edge gateway -> node with TLS on both
 * connections (mutual TLS between edge and node, as {@code spillway up} runs them) against the same path
 * in plaintext, in the same JVM, rounds interleaved so both see the same machine noise and JIT state.
 *
 * <p>Usage: {@code java -cp bench/target/spillway-bench.jar io.spillway.bench.TlsBench [--quick]}.
 */
public final class TlsBench {
  private static final long MIB = 1 << 20;

  private final boolean quick;
  private final Figures figures = new Figures();

  private TlsBench(boolean quick) {
    this.quick = quick;
  }

  public static void main(String[] args) throws Exception {
    new TlsBench(Arrays.asList(args).contains("--quick")).run();
  }

  /** A node and an edge on loopback, with TLS when {@code pki} is given. */
  private static final class Hop implements AutoCloseable {
    final List<AutoCloseable> parts = new ArrayList<>();
    final SpillwayClient client;

    Hop(String name, Pki pki, Path dir) throws Exception {
      String pool = "edge/" + name;
      TlsContexts nodeTls = null;
      // Liveness is not what is measured: a loaded machine must not mark the node down mid-run.
      GatewayConfig config = GatewayConfig.local("edge-" + name, pool)
          .withHeartbeat(java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(60));
      if (pki != null) {
        TlsFiles edge = pki.issue(dir.resolve("edge"), "edge", new PeerIdentity(Role.EDGE, name, pool), List.of());
        config = config.withTls(new GatewayConfig.Tls(edge, false));
        nodeTls = TlsContexts.of(pki.issue(dir.resolve("node"), "node",
            new PeerIdentity(Role.NODE, "node-1", pool), List.of()));
      }
      GpuNode node = new GpuNode(new NodeOptions("node-1", pool, 0, NodeOptions.DEFAULT_CHUNK_BYTES,
          NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 4096 * MIB));
      GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0, nodeTls).start();
      parts.add(server);
      // The journal's own cost is HopBench's; here only the transport differs.
      GatewayCore core = new GatewayCore(config, Clock.systemUTC(), GatewayListener.NONE)
          .failover(FailoverConfig.off()).start();
      parts.add(core);
      parts.add(new GatewayRegistrar(node, core.address(), "127.0.0.1:" + server.port(), 500, nodeTls).start());
      while (!core.ready()) {
        Thread.sleep(10);
      }
      SpillwayClient.Builder b = SpillwayClient.builder(core.address());
      client = (pki == null ? b : b.trustedCa(dir.resolve("edge").resolve(Pki.CA_FILE))).build();
      parts.add(client);
    }

    @Override
    public void close() throws Exception {
      for (int i = parts.size() - 1; i >= 0; i--) {
        parts.get(i).close();
      }
    }
  }

  private void run() throws Exception {
    Path dir = Files.createTempDirectory("spillway-tlsbench-");
    try (Hop plain = new Hop("plain", null, dir.resolve("plain"));
        Hop tls = new Hop("tls", Pki.create("bench CA"), dir.resolve("tls"))) {
      System.out.printf(Locale.ROOT, "%d cores, java %s, TLS provider %s%n",
          Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), TlsProvider.describe());
      SliceRequest slice = SliceRequest.builder().tenant("bench").memoryBytes(1024 * MIB).build();
      try (GpuSession p = plain.client.open(slice); GpuSession t = tls.client.open(slice)) {
        roundTrip(p, t);
        bulk(p, t);
      }
    }
    figures.print("One hop with TLS on both connections (client -> edge -> node), against plaintext",
        "plaintext");
  }

  private int n(int full) {
    return quick ? Math.max(1, full / 10) : full;
  }

  private static Histogram syncs(GpuSession gpu, int count) {
    for (int i = 0; i < count / 4; i++) {
      gpu.synchronize();
    }
    Histogram h = Figures.histogram();
    for (int i = 0; i < count; i++) {
      long t0 = System.nanoTime();
      gpu.synchronize();
      h.recordValue(System.nanoTime() - t0);
    }
    return h;
  }

  private void roundTrip(GpuSession plain, GpuSession tls) {
    Histogram p = Figures.histogram();
    Histogram t = Figures.histogram();
    for (int round = 0; round < 4; round++) {
      p.add(syncs(plain, n(5000)));
      t.add(syncs(tls, n(5000)));
    }
    for (double pct : new double[] {50, 99}) {
      double withTls = t.getValueAtPercentile(pct);
      double without = p.getValueAtPercentile(pct);
      figures.add(String.format(Locale.ROOT, "synchronize round trip p%.0f", pct), Figures.micros(withTls),
          Figures.micros(without), withTls / without);
    }
  }

  private static double upload(GpuSession gpu, DeviceBuffer buf, byte[] payload, int reps) {
    long t0 = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      gpu.write(buf, 0, payload);
    }
    gpu.synchronize();
    return (double) payload.length * reps / ((System.nanoTime() - t0) / 1e9);
  }

  private static double download(GpuSession gpu, DeviceBuffer buf, int size, int reps) {
    long t0 = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      gpu.read(buf, 0, size);
    }
    return (double) size * reps / ((System.nanoTime() - t0) / 1e9);
  }

  private void bulk(GpuSession plain, GpuSession tls) {
    int size = (int) (64 * MIB);
    int reps = quick ? 2 : 8;
    int rounds = Figures.rounds(quick);
    byte[] payload = new byte[size];
    new java.util.Random(2).nextBytes(payload);
    DeviceBuffer pb = plain.alloc(size);
    DeviceBuffer tb = tls.alloc(size);
    double[] pUp = new double[rounds];
    double[] tUp = new double[rounds];
    double[] pDown = new double[rounds];
    double[] tDown = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      pUp[r] = upload(plain, pb, payload, reps);
      tUp[r] = upload(tls, tb, payload, reps);
      pDown[r] = download(plain, pb, size, reps);
      tDown[r] = download(tls, tb, size, reps);
    }
    double pu = Figures.steady(pUp);
    double tu = Figures.steady(tUp);
    double pd = Figures.steady(pDown);
    double td = Figures.steady(tDown);
    figures.add("upload, 64 MiB writes", Figures.gbps(tu), Figures.gbps(pu), tu / pu);
    figures.add("download, 64 MiB reads", Figures.gbps(td), Figures.gbps(pd), td / pd);
  }
}
