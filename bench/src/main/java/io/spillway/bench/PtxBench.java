package io.spillway.bench;

import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.driver.DriverContext;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.exec.Decoder;
import io.spillway.ptx.exec.Executor;
import io.spillway.ptx.exec.GlobalMemory;
import io.spillway.ptx.exec.Kernel;
import io.spillway.ptx.parse.PtxParser;
import io.spillway.workload.MlpModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The PTX executor's figures, each beside a baseline measured in the same run:
 * <ul>
 *   <li>MLP request latency (the {@code MlpService} model, straight on a host-driver context) on the
 *       executor, beside the retired Java kernels ({@link RetiredJavaKernels});
 *   <li>executor throughput: thread-instructions and warp-instructions per second on the library's
 *       {@code dense} kernel, serial and on all cores;
 *   <li>PTX parse and decode time for a ~1 MB and a ~10 MB module (the ratio shows linearity).
 * </ul>
 * Usage: {@code PtxBench [--quick] [--only mlp|throughput|parse]}.
 */
public final class PtxBench {

  private static final int MIB = 1 << 20;

  private PtxBench() {}

  public static void main(String[] args) throws Exception {
    boolean quick = false;
    String only = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--quick" -> quick = true;
        case "--only" -> only = args[++i];
        default -> throw new IllegalArgumentException("unknown argument " + args[i]
            + "; usage: [--quick] [--only mlp|throughput|parse]");
      }
    }
    System.out.printf(Locale.ROOT, "%d cores, java %s%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
    if (only == null || only.equals("mlp")) {
      mlp(quick);
    }
    if (only == null || only.equals("throughput")) {
      throughput(quick);
    }
    if (only == null || only.equals("parse")) {
      parsing(quick);
    }
  }

  private static double median(long[] nanos) {
    long[] s = nanos.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  private static void mlp(boolean quick) throws Exception {
    Figures f = new Figures();
    MlpModel model = MlpModel.random(7, 256, 512, 512, 10);
    try (HostGpuDriver driver = HostGpuDriver.withCards(1, "V100", 512L * MIB)) {
      DriverContext ctx = driver.createContext(0);
      for (int batch : new int[] {1, 8, 32}) {
        InProcessMlp executor = new InProcessMlp(ctx, model, batch);
        RetiredJavaKernels java = new RetiredJavaKernels(model, batch);
        float[] x = model.randomInput(batch, batch);
        float[] expected = model.forwardCpu(x, batch);
        if (MlpModel.maxAbsDiff(executor.infer(x, batch), expected) > 1e-4
            || MlpModel.maxAbsDiff(java.infer(x, batch), expected) > 1e-4) {
          throw new AssertionError("MLP result differs from the CPU reference at batch " + batch);
        }
        int warm = quick ? 20 : 200;
        int runs = quick ? 20 : 200;
        for (int i = 0; i < warm; i++) {
          executor.infer(x, batch);
          java.infer(x, batch);
        }
        long[] exec = new long[runs];
        long[] base = new long[runs];
        for (int i = 0; i < runs; i++) {
          long t0 = System.nanoTime();
          executor.infer(x, batch);
          long t1 = System.nanoTime();
          java.infer(x, batch);
          long t2 = System.nanoTime();
          exec[i] = t1 - t0;
          base[i] = t2 - t1;
        }
        double e = median(exec);
        double b = median(base);
        f.add("MLP 256-512-512-10, batch " + batch + ", median request", Figures.micros(e),
            Figures.micros(b), e / b);
      }
    }
    f.print("MLP on the PTX executor (host driver)", "retired Java kernels");
  }

  /** Global memory for the throughput runs: a few direct buffers, no driver in the way. */
  private static final class Buffers implements GlobalMemory {
    private final Segment[] segments;

    Buffers(int... floats) {
      segments = new Segment[floats.length];
      long next = 1L << 48;
      for (int i = 0; i < floats.length; i++) {
        segments[i] = new Segment(next, ByteBuffer.allocateDirect(4 * floats[i])
            .order(ByteOrder.LITTLE_ENDIAN));
        next += (4L * floats[i] + 4096) / 256 * 256;
      }
    }

    long address(int i) {
      return segments[i].base();
    }

    @Override
    public Segment find(long address, int bytes) {
      for (Segment s : segments) {
        if (address >= s.base() && address + bytes <= s.end()) {
          return s;
        }
      }
      return null;
    }
  }

  private static void throughput(boolean quick) throws Exception {
    Figures f = new Figures();
    byte[] ptx = SpillwayKernels.ptx();
    PtxModule module = PtxParser.parse(new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII));
    Kernel dense = Decoder.decodeAll(module, v -> 0).get(SpillwayKernels.DENSE);
    int batch = 64;
    int in = 512;
    int out = 512;
    Buffers mem = new Buffers(batch * in, in * out, out, batch * out);
    ByteBuffer p = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
    p.putLong(0, mem.address(0)).putLong(8, mem.address(1)).putLong(16, mem.address(2))
        .putLong(24, mem.address(3)).putInt(32, batch).putInt(36, in).putInt(40, out).putInt(44, 1);
    int cores = Runtime.getRuntime().availableProcessors();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, cores - 1));
    try {
      double[] serial = run(Executor.serial(), dense, p, mem, batch, out, quick, true);
      double[] parallel = run(new Executor(pool, cores), dense, p, mem, batch, out, quick, false);
      long macs = (long) batch * in * out;
      double javaSeconds = javaDense(batch, in, out, quick);
      f.add("dense 64x512x512, thread-instructions/s (1 thread)", Figures.rate(serial[0], "/s"),
          "", "");
      f.add("dense 64x512x512, warp-instructions/s (1 thread)", Figures.rate(serial[1], "/s"), "", "");
      f.add("dense 64x512x512, thread-instructions/s (" + cores + " threads)",
          Figures.rate(parallel[0], "/s"), "", "");
      f.add("dense 64x512x512, multiply-adds/s (1 thread)", Figures.rate(macs / serial[2], "/s"),
          Figures.rate(macs / javaSeconds, "/s"), javaSeconds / serial[2]);
      f.add("dense 64x512x512, multiply-adds/s (" + cores + " threads, wall time)",
          Figures.rate(macs / parallel[2], "/s"), Figures.rate(macs / javaSeconds, "/s"),
          javaSeconds / parallel[2]);
    } finally {
      pool.shutdown();
    }
    f.print("Executor throughput (CPU time of one thread unless marked)",
        "retired Java dense kernel (1 thread)");
  }

  private static long now(boolean cpuTime) {
    return cpuTime ? java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime()
        : System.nanoTime();
  }

  /**
   * {thread-instructions/s, warp-instructions/s, seconds per launch}; in this thread's CPU time when
   * {@code cpuTime} (single-threaded runs), else wall time.
   */
  private static double[] run(Executor executor, Kernel dense, ByteBuffer p, Buffers mem, int batch,
      int out, boolean quick, boolean cpuTime) {
    int rounds = quick ? 3 : 10;
    long[] nanos = new long[rounds];
    Executor.Stats stats = null;
    for (int r = 0; r < rounds; r++) {
      long t0 = now(cpuTime);
      stats = executor.launch(dense, (out + 15) / 16, (batch + 15) / 16, 1, 16, 16, 1, 0, p, mem,
          1L << 40);
      nanos[r] = now(cpuTime) - t0;
    }
    double s = median(nanos) / 1e9;
    return new double[] {stats.threadInstructions() / s, stats.warpInstructions() / s, s};
  }

  private static double javaDense(int batch, int in, int out, boolean quick) {
    MlpModel model = MlpModel.random(3, in, out);
    RetiredJavaKernels java = new RetiredJavaKernels(model, batch);
    float[] x = model.randomInput(1, batch);
    int rounds = quick ? 3 : 10;
    long[] nanos = new long[rounds];
    for (int r = 0; r < rounds; r++) {
      long t0 = now(true);
      java.infer(x, batch);
      nanos[r] = now(true) - t0;
    }
    return median(nanos) / 1e9;
  }

  private static void parsing(boolean quick) throws Exception {
    Figures f = new Figures();
    byte[] lib = SpillwayKernels.ptx();
    String library = new String(lib, 0, lib.length - 1, StandardCharsets.US_ASCII);
    String small = replicate(library, 1 << 20);
    String large = replicate(library, 10 << 20);
    int rounds = quick ? 3 : 7;
    parseTimes(small, 3);
    double[] s = parseTimes(small, rounds);
    double[] l = parseTimes(large, rounds);
    f.add(String.format(Locale.ROOT, "parse %.1f MB of PTX", small.length() / 1e6),
        Figures.micros(s[0]), "", "");
    f.add(String.format(Locale.ROOT, "parse %.1f MB of PTX", large.length() / 1e6),
        Figures.micros(l[0]), Figures.micros(s[0]) + " (1 MB)",
        String.format(Locale.ROOT, "%.2f per %.2f size", l[0] / s[0],
            (double) large.length() / small.length()));
    f.add(String.format(Locale.ROOT, "parse + decode %.1f MB", small.length() / 1e6),
        Figures.micros(s[1]), "", "");
    f.add(String.format(Locale.ROOT, "parse + decode %.1f MB", large.length() / 1e6),
        Figures.micros(l[1]), Figures.micros(s[1]) + " (1 MB)",
        String.format(Locale.ROOT, "%.2f per %.2f size", l[1] / s[1],
            (double) large.length() / small.length()));
    f.print("PTX front end (parse CPU time against module size)", "1 MB module");
  }

  /** The library's kernels copied under new names until the module reaches {@code bytes}. */
  private static String replicate(String library, int bytes) {
    int body = library.indexOf(".visible");
    String header = library.substring(0, body);
    String kernels = library.substring(body);
    StringBuilder sb = new StringBuilder(bytes + kernels.length()).append(header);
    int copy = 0;
    while (sb.length() < bytes) {
      String suffix = "_" + copy++;
      String k = kernels;
      for (String name : SpillwayKernels.FUNCTIONS) {
        k = k.replace(name + "(", name + suffix + "(").replace(name + "_param", name + suffix
            + "_param");
      }
      sb.append(k);
    }
    return sb.toString();
  }

  /**
   * {median parse nanos, median parse + decode nanos}, in this thread's CPU time: parsing is
   * single-threaded, and CPU time is not inflated when other processes share the cores.
   */
  private static double[] parseTimes(String text, int rounds) throws Exception {
    java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
    long[] parse = new long[rounds];
    long[] both = new long[rounds];
    for (int r = 0; r < rounds; r++) {
      long t0 = cpu.getCurrentThreadCpuTime();
      PtxModule m = PtxParser.parse(text);
      long t1 = cpu.getCurrentThreadCpuTime();
      Map<String, Kernel> kernels = Decoder.decodeAll(m, v -> 0);
      long t2 = cpu.getCurrentThreadCpuTime();
      if (kernels.isEmpty()) {
        throw new AssertionError("no kernels decoded");
      }
      parse[r] = t1 - t0;
      both[r] = t2 - t0;
    }
    return new double[] {median(parse), median(both)};
  }
}
