package io.spillway.bench;

import io.spillway.client.DeviceBuffer;
import io.spillway.client.Dim3;
import io.spillway.client.GpuSession;
import io.spillway.client.KernelArg;
import io.spillway.client.Module;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.config.FailoverConfig;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * The cost of one hop, measured in one run: client -> node against client -> edge gateway -> node, and
 * bulk throughput through the gateway against a plain TCP relay moving the same bytes.
 *
 * <p>Usage: {@code java -cp bench/target/spillway-bench.jar io.spillway.bench.HopBench [--quick]
 * [--only rtt|pipelined|bulk] [--journal off]}. The edge journals sessions for failover unless
 * {@code --journal off} (docs/failover.md); comparing the two runs gives the journal's cost. Bulk figures are sensitive to what the JVM ran before them (the JIT
 * compiles the shared forwarding and SDK paths for the small frames of the other phases first), so
 * {@code --only bulk} measures them in a fresh JVM, as a benchmark harness's fork would.
 */
public final class HopBench {

  private static final long MIB = 1 << 20;

  private final boolean quick;
  private final String only;
  private final boolean journal;
  private final Figures figures = new Figures();

  private HopBench(boolean quick, String only, boolean journal) {
    this.quick = quick;
    this.only = only;
    this.journal = journal;
  }

  public static void main(String[] args) throws Exception {
    List<String> a = Arrays.asList(args);
    int i = a.indexOf("--only");
    String only = i >= 0 && i + 1 < a.size() ? a.get(i + 1) : null;
    if (only != null && !List.of("rtt", "pipelined", "bulk").contains(only)) {
      throw new IllegalArgumentException("--only takes rtt, pipelined or bulk, not " + only);
    }
    int j = a.indexOf("--journal");
    String journal = j >= 0 && j + 1 < a.size() ? a.get(j + 1) : "on";
    if (!List.of("on", "off").contains(journal)) {
      throw new IllegalArgumentException("--journal takes on or off, not " + journal);
    }
    new HopBench(a.contains("--quick"), only, journal.equals("on")).run();
  }

  private void run() throws Exception {
    GatewayConfig config = GatewayConfig.local("edge-bench", "edge/bench");
    try (OneHop hop = new OneHop(config, journal ? FailoverConfig.defaults() : FailoverConfig.off(), null);
        SpillwayClient direct = SpillwayClient.connect(hop.nodeAddress());
        SpillwayClient viaEdge = SpillwayClient.connect(hop.edgeAddress())) {
      System.out.printf(Locale.ROOT, "%d cores, java %s, session journal %s%n",
          Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), journal ? "on" : "off");
      SliceRequest slice = SliceRequest.builder().tenant("bench").memoryBytes(1024 * MIB).build();
      try (GpuSession d = direct.open(slice); GpuSession e = viaEdge.open(slice)) {
        if (only == null || only.equals("rtt")) {
          roundTrip(d, e);
        }
        if (only == null || only.equals("pipelined")) {
          pipelined(d, e);
        }
        if (only == null || only.equals("bulk")) {
          bulk(e);
        }
      }
    }
    figures.print("One hop: client -> node against client -> edge -> node", "direct / plain relay");
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

  /** Interleaved rounds, so both paths see the same machine noise. */
  private void roundTrip(GpuSession direct, GpuSession edge) {
    Histogram d = Figures.histogram();
    Histogram e = Figures.histogram();
    for (int round = 0; round < 4; round++) {
      d.add(syncs(direct, n(5000)));
      e.add(syncs(edge, n(5000)));
    }
    for (double p : new double[] {50, 99}) {
      double viaEdge = e.getValueAtPercentile(p);
      double straight = d.getValueAtPercentile(p);
      figures.add(String.format(Locale.ROOT, "synchronize round trip p%.0f", p), Figures.micros(viaEdge),
          Figures.micros(straight), "+" + Figures.micros(viaEdge - straight) + " per hop");
    }
  }

  private static double pipelinedRate(GpuSession gpu, int pairs) {
    DeviceBuffer a = gpu.alloc(16);
    Module m = gpu.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
    byte[] data = new byte[16];
    long t0 = System.nanoTime();
    for (int i = 0; i < pairs; i++) {
      gpu.write(a, 0, data);
      gpu.launch(m, SpillwayKernels.FILL_F32, Dim3.of(1), Dim3.of(32), KernelArg.ptr(a), KernelArg.f32(i),
          KernelArg.i32(4));
    }
    gpu.synchronize();
    double rate = 2.0 * pairs / ((System.nanoTime() - t0) / 1e9);
    gpu.free(a);
    return rate;
  }

  /** Alternating paths, best of three each, so JIT warm-up favours neither. */
  private void pipelined(GpuSession direct, GpuSession edge) {
    double d = 0;
    double e = 0;
    for (int round = 0; round < 3; round++) {
      d = Math.max(d, pipelinedRate(direct, n(50_000)));
      e = Math.max(e, pipelinedRate(edge, n(50_000)));
    }
    figures.add("pipelined ops/s (write + launch, then synchronize; best of 3)", Figures.rate(e, "ops/s"),
        Figures.rate(d, "ops/s"), e / d);
  }

  private void bulk(GpuSession edge) throws Exception {
    int size = (int) (64 * MIB);
    int reps = quick ? 2 : 8;
    int rounds = Figures.rounds(quick);
    byte[] payload = new byte[size];
    new java.util.Random(2).nextBytes(payload);
    DeviceBuffer buf = edge.alloc(size);
    double[] up = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < reps; i++) {
        edge.write(buf, 0, payload);
      }
      edge.synchronize();
      up[r] = (double) size * reps / ((System.nanoTime() - t0) / 1e9);
    }
    edge.free(buf);
    double[] relay = plainRelay(payload, reps, rounds);
    double e = Figures.steady(up);
    double t = Figures.steady(relay);
    figures.add("upload through the hop, 64 MiB writes", Figures.gbps(e), Figures.gbps(t) + " (TCP relay)", e / t);
  }

  /**
   * client -> relay -> server over loopback sockets: the relay copies each byte from one socket to the
   * other through a user-space buffer, as any relay must; the server copies into a heap array.
   */
  static double[] plainRelay(byte[] payload, int reps, int rounds) throws Exception {
    try (ServerSocket sink = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        ServerSocket relay = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread server = new Thread(() -> {
        try (Socket s = sink.accept()) {
          DataInputStream in = new DataInputStream(s.getInputStream());
          OutputStream out = s.getOutputStream();
          byte[] buf = new byte[payload.length];
          for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < reps; i++) {
              in.readFully(buf);
            }
            out.write(1);
            out.flush();
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, "relay-sink");
      Thread hop = new Thread(() -> {
        try (Socket from = relay.accept();
            Socket to = new Socket(InetAddress.getLoopbackAddress(), sink.getLocalPort())) {
          from.setTcpNoDelay(true);
          to.setTcpNoDelay(true);
          Thread back = new Thread(() -> pump(to, from), "relay-back");
          back.start();
          pump(from, to);
          back.join();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, "relay");
      server.start();
      hop.start();
      double[] result = new double[rounds];
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), relay.getLocalPort())) {
        s.setTcpNoDelay(true);
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        for (int r = 0; r < rounds; r++) {
          long t0 = System.nanoTime();
          for (int i = 0; i < reps; i++) {
            out.write(payload);
          }
          out.flush();
          if (in.read() != 1) {
            throw new IllegalStateException("relay lost the ack");
          }
          result[r] = (double) payload.length * reps / ((System.nanoTime() - t0) / 1e9);
        }
      }
      server.join();
      hop.join();
      return result;
    }
  }

  private static void pump(Socket from, Socket to) {
    byte[] buf = new byte[1 << 20];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
        out.write(buf, 0, n);
      }
      to.shutdownOutput();
    } catch (Exception e) {
      // The other side closed: the relay is done.
    }
  }
}
