package io.spillway.bench;

import io.spillway.client.DeviceBuffer;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.Pki;
import io.spillway.security.tls.TlsContexts;
import io.spillway.security.tls.TlsFiles;
import io.spillway.security.tls.TlsProvider;
import java.nio.file.Files;
import java.nio.file.Path;
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
  private static final com.sun.management.OperatingSystemMXBean CPU =
      (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

  private final boolean quick;
  private final Figures figures = new Figures();

  private TlsBench(boolean quick) {
    this.quick = quick;
  }

  public static void main(String[] args) throws Exception {
    new TlsBench(Arrays.asList(args).contains("--quick")).run();
  }

  /** A node and an edge on loopback and a client of the edge, with TLS on both hops when {@code pki} is given. */
  private static final class Hop implements AutoCloseable {
    final OneHop hop;
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
      // The journal's own cost is HopBench's; here only the transport differs.
      hop = new OneHop(config, FailoverConfig.off(), nodeTls);
      SpillwayClient.Builder b = SpillwayClient.builder(hop.edgeAddress());
      client = (pki == null ? b : b.trustedCa(dir.resolve("edge").resolve(Pki.CA_FILE))).build();
    }

    @Override
    public void close() throws Exception {
      try (OneHop h = hop) {
        client.close();
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

  /** Bytes per second of {@code reps} writes of {@code payload}, and the CPU the process spent per byte. */
  private static double[] upload(GpuSession gpu, DeviceBuffer buf, byte[] payload, int reps) {
    long c0 = CPU.getProcessCpuTime();
    long t0 = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      gpu.write(buf, 0, payload);
    }
    gpu.synchronize();
    return rates((double) payload.length * reps, t0, c0);
  }

  private static double[] download(GpuSession gpu, DeviceBuffer buf, int size, int reps) {
    long c0 = CPU.getProcessCpuTime();
    long t0 = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      gpu.read(buf, 0, size);
    }
    return rates((double) size * reps, t0, c0);
  }

  private static double[] rates(double bytes, long t0, long c0) {
    double seconds = (System.nanoTime() - t0) / 1e9;
    return new double[] {bytes / seconds, (CPU.getProcessCpuTime() - c0) / bytes};
  }

  /**
   * Interleaved rounds of each path and direction. Besides bytes per second, the CPU time the whole
   * process (client, edge, node, and the JVM's own threads) spent per byte moved: when the machine's
   * cores are saturated, by this run or by others, throughput follows that cost, and it moves less
   * with the machine's load than bytes per second do.
   */
  private void bulk(GpuSession plain, GpuSession tls) {
    int size = (int) (64 * MIB);
    int reps = quick ? 2 : 8;
    int rounds = Figures.rounds(quick);
    byte[] payload = new byte[size];
    new java.util.Random(2).nextBytes(payload);
    DeviceBuffer pb = plain.alloc(size);
    DeviceBuffer tb = tls.alloc(size);
    // [path: plain, tls][direction: up, down][0: bytes/s, 1: CPU ns per byte][round]
    double[][][][] m = new double[2][2][2][rounds];
    for (int r = 0; r < rounds; r++) {
      record(m[0][0], r, upload(plain, pb, payload, reps));
      record(m[1][0], r, upload(tls, tb, payload, reps));
      record(m[0][1], r, download(plain, pb, size, reps));
      record(m[1][1], r, download(tls, tb, size, reps));
    }
    String[] what = {"upload, 64 MiB writes", "download, 64 MiB reads"};
    for (int dir = 0; dir < 2; dir++) {
      double p = Figures.steady(m[0][dir][0]);
      double t = Figures.steady(m[1][dir][0]);
      figures.add(what[dir], Figures.gbps(t), Figures.gbps(p), t / p);
    }
    for (int dir = 0; dir < 2; dir++) {
      double p = Figures.steady(m[0][dir][1]);
      double t = Figures.steady(m[1][dir][1]);
      figures.add("process CPU per byte, " + what[dir].substring(0, what[dir].indexOf(',')), nsPerByte(t),
          nsPerByte(p), t / p);
    }
  }

  private static void record(double[][] into, int round, double[] rates) {
    into[0][round] = rates[0];
    into[1][round] = rates[1];
  }

  private static String nsPerByte(double ns) {
    return String.format(Locale.ROOT, "%.2f ns/B", ns);
  }
}
