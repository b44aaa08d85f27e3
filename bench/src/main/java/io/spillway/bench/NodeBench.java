package io.spillway.bench;

import io.spillway.client.DeviceBuffer;
import io.spillway.client.Dim3;
import io.spillway.client.GpuSession;
import io.spillway.client.KernelArg;
import io.spillway.client.Module;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.DriverContext;
import io.spillway.node.driver.GpuDriver;
import io.spillway.node.driver.GpuDrivers;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.driver.KernelArgument;
import io.spillway.node.driver.LoadedModule;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;

/**
 * Client -> node on loopback, each figure beside a baseline measured in the same run: the same driver
 * called in-process for operations, a plain TCP socket moving the same bytes for throughput.
 *
 * <p>Usage: {@code java -jar bench/target/spillway-bench.jar [--driver host|jcuda|auto] [--quick]
 * [--only rtt|pipelined|throughput|mlp]}.
 */
public final class NodeBench {

  private static final long MIB = 1 << 20;

  private final Supplier<GpuDriver> drivers;
  private final boolean quick;
  private final String only;
  private final Figures figures = new Figures();

  private NodeBench(Supplier<GpuDriver> drivers, boolean quick, String only) {
    this.drivers = drivers;
    this.quick = quick;
    this.only = only;
  }

  private boolean runs(String part) {
    return only == null || only.equals(part);
  }

  public static void main(String[] args) throws Exception {
    String mode = "host";
    boolean quick = false;
    String only = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--driver" -> mode = args[++i];
        case "--quick" -> quick = true;
        case "--only" -> only = args[++i];
        default -> throw new IllegalArgumentException("unknown argument " + args[i]
            + "; usage: [--driver host|jcuda|auto] [--quick] [--only rtt|pipelined|throughput|mlp]");
      }
    }
    String m = mode;
    Supplier<GpuDriver> drivers = () -> GpuDrivers.select(m,
        () -> HostGpuDriver.withCards(1, "V100", 4096 * MIB));
    new NodeBench(drivers, quick, only).run();
  }

  private int n(int full) {
    return quick ? Math.max(1, full / 10) : full;
  }

  private void run() throws Exception {
    try (GpuNodeServer server = new GpuNodeServer(new GpuNode(NodeOptions.defaults("bench"), drivers.get()),
        "127.0.0.1", 0).start();
        SpillwayClient client = SpillwayClient.connect("127.0.0.1:" + server.port());
        GpuDriver local = drivers.get()) {
      DriverContext ctx = local.createContext(0);
      System.out.printf(Locale.ROOT, "driver %s, device %s, %d cores, java %s%n", local.name(),
          local.devices().get(0), Runtime.getRuntime().availableProcessors(),
          System.getProperty("java.version"));
      try (GpuSession gpu = client.open(SliceRequest.builder().tenant("bench")
          .memoryBytes(1536 * MIB).build())) {
        if (runs("rtt") || runs("pipelined")) {
          double rtt = syncRoundTrip(gpu, ctx);
          pipelined(gpu, ctx);
          launchesThenSync(gpu, rtt);
        }
        if (runs("throughput")) {
          throughput(gpu);
        }
      }
      if (runs("mlp")) {
        try (GpuSession gpu = client.open(SliceRequest.builder().tenant("bench").memoryBytes(256 * MIB)
            .build())) {
          mlp(gpu, ctx);
        }
      }
      ctx.close();
    }
    figures.print("Client -> node on loopback", "baseline");
  }

  /** Synchronizing round trip through the node against the driver's own synchronize. */
  private double syncRoundTrip(GpuSession gpu, DriverContext ctx) throws Exception {
    int count = n(20_000);
    for (int i = 0; i < count / 4; i++) {
      gpu.synchronize();
    }
    Histogram remote = Figures.histogram();
    for (int i = 0; i < count; i++) {
      long t0 = System.nanoTime();
      gpu.synchronize();
      remote.recordValue(System.nanoTime() - t0);
    }
    Histogram direct = Figures.histogram();
    for (int i = 0; i < count; i++) {
      long t0 = System.nanoTime();
      ctx.synchronize();
      direct.recordValue(System.nanoTime() - t0);
    }
    figures.add("synchronize round trip p50", Figures.micros(remote.getValueAtPercentile(50)),
        Figures.micros(direct.getValueAtPercentile(50)) + " (in-process driver)",
        "+" + Figures.micros(remote.getValueAtPercentile(50) - direct.getValueAtPercentile(50)));
    figures.add("synchronize round trip p99", Figures.micros(remote.getValueAtPercentile(99)),
        Figures.micros(direct.getValueAtPercentile(99)) + " (in-process driver)",
        "+" + Figures.micros(remote.getValueAtPercentile(99) - direct.getValueAtPercentile(99)));
    return remote.getValueAtPercentile(50);
  }

  /** Small pipelined ops (a 16-byte write and a launch, alternating) then one synchronize. */
  private void pipelined(GpuSession gpu, DriverContext ctx) throws Exception {
    int pairs = n(100_000);
    int n = 4;
    DeviceBuffer a = gpu.alloc(4 * n);
    DeviceBuffer b = gpu.alloc(4 * n);
    DeviceBuffer c = gpu.alloc(4 * n);
    Module module = gpu.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
    byte[] data = new byte[16];
    for (int round = 0; round < 2; round++) { // the first round warms up
      long t0 = System.nanoTime();
      for (int i = 0; i < pairs; i++) {
        gpu.write(a, 0, data);
        gpu.launch(module, SpillwayKernels.VECTOR_ADD, Dim3.of(1), Dim3.of(32), KernelArg.ptr(a),
            KernelArg.ptr(b), KernelArg.ptr(c), KernelArg.i32(n));
      }
      long submitted = System.nanoTime() - t0;
      gpu.synchronize();
      long total = System.nanoTime() - t0;
      if (round == 1) {
        long addrA = ctx.allocate(4 * n);
        long addrB = ctx.allocate(4 * n);
        long addrC = ctx.allocate(4 * n);
        LoadedModule lm = ctx.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
        List<KernelArgument> args = List.of(new KernelArgument.Pointer(addrA),
            new KernelArgument.Pointer(addrB), new KernelArgument.Pointer(addrC), new KernelArgument.I32(n));
        DriverContext.Dim3 one = new DriverContext.Dim3(1, 1, 1);
        DriverContext.Dim3 block = new DriverContext.Dim3(32, 1, 1);
        long d0 = System.nanoTime();
        for (int i = 0; i < pairs; i++) {
          ctx.write(addrA, ByteBuffer.wrap(data));
          ctx.launch(lm, SpillwayKernels.VECTOR_ADD, one, block, 0, args);
        }
        ctx.synchronize();
        long direct = System.nanoTime() - d0;
        double ops = 2.0 * pairs;
        figures.add("pipelined ops/s at the client (submit)", Figures.rate(ops / (submitted / 1e9), "ops/s"),
            "-", "-");
        figures.add("pipelined ops/s end to end (write + launch, then synchronize)",
            Figures.rate(ops / (total / 1e9), "ops/s"),
            Figures.rate(ops / (direct / 1e9), "ops/s") + " (in-process driver)",
            (double) direct / total);
        ctx.free(addrA);
        ctx.free(addrB);
        ctx.free(addrC);
      }
    }
    gpu.free(a);
    gpu.free(b);
    gpu.free(c);
  }

  /** N launches then one synchronize, in units of the synchronizing round trip. */
  private void launchesThenSync(GpuSession gpu, double rttNanos) {
    DeviceBuffer a = gpu.alloc(16);
    Module module = gpu.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
    for (int count : new int[] {1, 10, 100, 1000}) {
      int reps = n(count >= 1000 ? 100 : 1000);
      Histogram h = Figures.histogram();
      for (int r = 0; r < reps + reps / 5; r++) {
        long t0 = System.nanoTime();
        for (int i = 0; i < count; i++) {
          gpu.launch(module, SpillwayKernels.FILL_F32, Dim3.of(1), Dim3.of(32), KernelArg.ptr(a),
              KernelArg.f32(i), KernelArg.i32(4));
        }
        gpu.synchronize();
        if (r >= reps / 5) {
          h.recordValue(System.nanoTime() - t0);
        }
      }
      double p50 = h.getValueAtPercentile(50);
      figures.add(count + " launches + synchronize, p50", Figures.micros(p50),
          Figures.micros(rttNanos * count) + " (" + count + " round trips)",
          String.format(Locale.ROOT, "%.2f round trips", p50 / rttNanos));
    }
    gpu.free(a);
  }

  /**
   * Upload and download of 64 MiB buffers against a plain TCP socket moving the same bytes. Each side
   * gets the same warm-up rounds, then the median of the measured rounds is reported.
   */
  private void throughput(GpuSession gpu) throws Exception {
    int size = (int) (64 * MIB);
    int reps = quick ? 2 : 8;
    int rounds = Figures.rounds(quick);
    byte[] payload = new byte[size];
    new java.util.Random(1).nextBytes(payload);
    DeviceBuffer buf = gpu.alloc(size);
    double[] up = new double[rounds];
    double[] down = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < reps; i++) {
        gpu.write(buf, 0, payload);
      }
      gpu.synchronize();
      up[r] = (double) size * reps / ((System.nanoTime() - t0) / 1e9);
      t0 = System.nanoTime();
      for (int i = 0; i < reps; i++) {
        gpu.read(buf, 0, size);
      }
      down[r] = (double) size * reps / ((System.nanoTime() - t0) / 1e9);
    }
    gpu.free(buf);
    double[][] tcp = plainTcp(payload, reps, rounds);
    double upMedian = Figures.steady(up);
    double downMedian = Figures.steady(down);
    double tcpUp = Figures.steady(tcp[0]);
    double tcpDown = Figures.steady(tcp[1]);
    figures.add("upload, 64 MiB writes", Figures.gbps(upMedian), Figures.gbps(tcpUp) + " (plain TCP)",
        upMedian / tcpUp);
    figures.add("download, 64 MiB reads", Figures.gbps(downMedian), Figures.gbps(tcpDown) + " (plain TCP)",
        downMedian / tcpDown);
  }

  /**
   * A plain socket on loopback, round by round: the client sends {@code reps} payloads and waits for a
   * one-byte ack (upload), then the server sends them back (download). Both sides copy into a heap
   * array, as a server that keeps the bytes must.
   *
   * @return bytes per second, {@code [0]} up and {@code [1]} down, one per round
   */
  static double[][] plainTcp(byte[] payload, int reps, int rounds) throws Exception {
    try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread server = new Thread(() -> {
        try (Socket s = ss.accept()) {
          s.setTcpNoDelay(true);
          DataInputStream in = new DataInputStream(s.getInputStream());
          OutputStream out = s.getOutputStream();
          byte[] sink = new byte[payload.length];
          for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < reps; i++) {
              in.readFully(sink);
            }
            out.write(1);
            out.flush();
            in.readByte();
            for (int i = 0; i < reps; i++) {
              out.write(sink);
            }
            out.flush();
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, "tcp-baseline");
      server.start();
      double[][] result = new double[2][rounds];
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort())) {
        s.setTcpNoDelay(true);
        OutputStream out = s.getOutputStream();
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] sink = new byte[payload.length];
        for (int round = 0; round < rounds; round++) {
          long t0 = System.nanoTime();
          for (int i = 0; i < reps; i++) {
            out.write(payload);
          }
          out.flush();
          in.readByte();
          result[0][round] = (double) payload.length * reps / ((System.nanoTime() - t0) / 1e9);
          t0 = System.nanoTime();
          out.write(1);
          out.flush();
          for (int i = 0; i < reps; i++) {
            in.readFully(sink);
          }
          result[1][round] = (double) payload.length * reps / ((System.nanoTime() - t0) / 1e9);
        }
      }
      server.join();
      return result;
    }
  }

  /** MLP requests through the node against the same kernels on the driver in-process. */
  private void mlp(GpuSession gpu, DriverContext ctx) throws Exception {
    MlpModel model = MlpModel.random(7, 256, 512, 512, 10);
    int batch = 32;
    int requests = n(300);
    MlpService service = new MlpService(gpu, model, batch);
    float[] x = model.randomInput(1, batch);
    float[] expected = model.forwardCpu(x, batch);
    Histogram remote = Figures.histogram();
    for (int i = 0; i < requests + requests / 5; i++) {
      long t0 = System.nanoTime();
      float[] y = service.infer(x, batch);
      if (i >= requests / 5) {
        remote.recordValue(System.nanoTime() - t0);
      }
      if (MlpModel.maxAbsDiff(y, expected) > 1e-4) {
        throw new IllegalStateException("MLP result differs from the CPU reference by "
            + MlpModel.maxAbsDiff(y, expected));
      }
    }
    InProcessMlp local = new InProcessMlp(ctx, model, batch);
    Histogram direct = Figures.histogram();
    for (int i = 0; i < requests + requests / 5; i++) {
      long t0 = System.nanoTime();
      float[] y = local.infer(x, batch);
      if (i >= requests / 5) {
        direct.recordValue(System.nanoTime() - t0);
      }
      if (MlpModel.maxAbsDiff(y, expected) > 1e-4) {
        throw new IllegalStateException("in-process MLP differs from the CPU reference");
      }
    }
    String shape = "MLP 256-512-512-10, batch 32";
    figures.add(shape + ", request p50", Figures.micros(remote.getValueAtPercentile(50)),
        Figures.micros(direct.getValueAtPercentile(50)) + " (in-process driver)",
        remote.getValueAtPercentile(50) / (double) direct.getValueAtPercentile(50));
    figures.add(shape + ", request p99", Figures.micros(remote.getValueAtPercentile(99)),
        Figures.micros(direct.getValueAtPercentile(99)) + " (in-process driver)",
        remote.getValueAtPercentile(99) / (double) direct.getValueAtPercentile(99));
  }
}
