package io.spillway.node.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spillway.node.driver.DriverContext.Dim3;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The executor's corpus ({@code ptx/src/test/cuda}, PTX committed beside it) run through a driver and
 * checked against plain-Java references. Where the kernel's arithmetic is a fixed sequence of IEEE
 * operations (nvcc's {@code fma.rn} included) the reference performs the same sequence and results
 * must be bit-equal; sums whose order depends on atomics are compared with a tolerance.
 *
 * <p>Extended once per driver: on the host driver in CI, and on JCuda where a GPU is present, so that
 * both produce the same bits.
 */
public abstract class PtxCorpusContract {

  protected DriverContext ctx;
  private GpuDriver driver;
  private final Random random = new Random(7);

  protected abstract GpuDriver newDriver() throws Exception;

  @BeforeEach
  void open() throws Exception {
    driver = newDriver();
    ctx = driver.createContext(0);
  }

  @AfterEach
  void close() {
    if (ctx != null) {
      ctx.close();
    }
    if (driver != null) {
      driver.close();
    }
  }

  /** The committed PTX of corpus file {@code name}.cu. */
  static byte[] corpus(String name) {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("ptx/src/test/resources"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("cannot find ptx/src/test/resources above " + Path.of("")
          .toAbsolutePath());
    }
    try {
      return Files.readAllBytes(dir.resolve("ptx/src/test/resources/io/spillway/ptx/corpus/" + name
          + ".ptx"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private LoadedModule load(String name) throws DriverException {
    return ctx.loadModule(corpus(name), name + ".ptx");
  }

  @Test
  void tiledMatrixMultiplyWithSharedMemoryAndBarriers() throws Exception {
    int m = 37;
    int n = 45;
    int k = 50;
    float[] a = floats(m * k);
    float[] b = floats(k * n);
    long da = upload(a);
    long db = upload(b);
    long dc = ctx.allocate(4L * m * n);
    ctx.launch(load("matmul_tiled"), "matmul_tiled", new Dim3((n + 15) / 16, (m + 15) / 16, 1),
        new Dim3(16, 16, 1), 0, List.of(ptr(da), ptr(db), ptr(dc), i32(m), i32(n), i32(k)));
    float[] expected = new float[m * n];
    for (int r = 0; r < m; r++) {
      for (int c = 0; c < n; c++) {
        float acc = 0f;
        for (int i = 0; i < k; i++) {
          acc = Math.fma(a[r * k + i], b[i * n + c], acc);
        }
        expected[r * n + c] = acc;
      }
    }
    assertArrayEquals(expected, downloadFloats(dc, m * n), 0f);
  }

  @Test
  void reductionWithWarpShuffles() throws Exception {
    int n = 10_000;
    float[] x = floats(n);
    long dx = upload(x);
    long out = ctx.allocate(4);
    ctx.launch(load("reduce_shfl"), "reduce_shfl", new Dim3(4, 1, 1), new Dim3(128, 1, 1), 0,
        List.of(ptr(dx), ptr(out), i32(n)));
    double sum = 0;
    for (float v : x) {
      sum += v;
    }
    assertEquals(sum, downloadFloats(out, 1)[0], 1e-3);
  }

  @Test
  void ballotVoteAndEveryShuffleMode() throws Exception {
    int threads = 128;
    int[] v = new int[threads];
    for (int i = 0; i < threads; i++) {
      v[i] = random.nextInt(100) - (i >= 64 ? 0 : 10);
    }
    v[70] = 7;
    long dv = upload(v);
    int warps = threads / 32;
    long out = ctx.allocate(4L * warps * 2);
    long flags = ctx.allocate(4L * warps);
    long all = ctx.allocate(4L * warps);
    ctx.launch(load("reduce_shfl"), "warp_vote", new Dim3(2, 1, 1), new Dim3(64, 1, 1), 0,
        List.of(ptr(dv), ptr(out), ptr(flags), ptr(all)));
    int[] gotOut = downloadInts(out, warps * 2);
    int[] gotFlags = downloadInts(flags, warps);
    int[] gotAll = downloadInts(all, warps);
    for (int w = 0; w < warps; w++) {
      int sum = 0;
      int odd = 0;
      boolean nonNegative = true;
      boolean seven = false;
      for (int l = 0; l < 32; l++) {
        int x = v[w * 32 + l];
        sum += x;
        odd |= (x & 1) << l;
        nonNegative &= x >= 0;
        seven |= x == 7;
      }
      assertEquals(sum, gotOut[w], "warp " + w + " sum");
      assertEquals(odd, gotFlags[w], "warp " + w + " ballot");
      int lane0 = v[w * 32];
      assertEquals((nonNegative ? 1 : 0) | (seven ? 2 : 0) | 4, gotAll[w], "warp " + w + " votes"
          + " (lane 0 reads its own value through shfl idx 0: " + lane0 + ")");
      assertEquals(v[w * 32 + 4], gotOut[warps + w], "warp " + w + " lane 5 shfl up by 1");
    }
  }

  @Test
  void histogramWithSharedAndGlobalAtomics() throws Exception {
    int n = 100_000;
    byte[] data = new byte[n];
    random.nextBytes(data);
    long dd = ctx.allocate(n);
    ctx.write(dd, ByteBuffer.wrap(data));
    long bins = ctx.allocate(256 * 4);
    ctx.launch(load("histogram"), "histogram", new Dim3(8, 1, 1), new Dim3(256, 1, 1), 0,
        List.of(ptr(dd), i32(n), ptr(bins)));
    int[] expected = new int[256];
    for (byte b : data) {
      expected[b & 0xff]++;
    }
    assertArrayEquals(expected, downloadInts(bins, 256));
  }

  @Test
  void everyAtomicOperation() throws Exception {
    int n = 1003;
    int[] v = new int[n];
    for (int i = 0; i < n; i++) {
      v[i] = random.nextInt() >> 4;
    }
    long dv = upload(v);
    long out = upload(new int[] {Integer.MIN_VALUE, Integer.MAX_VALUE, -1, 0, 0, 0, 0, 0, 0});
    ctx.launch(load("histogram"), "atomics", new Dim3((n + 127) / 128, 1, 1), new Dim3(128, 1, 1), 0,
        List.of(ptr(dv), i32(n), ptr(out)));
    int max = Integer.MIN_VALUE;
    int min = Integer.MAX_VALUE;
    int and = -1;
    int or = 0;
    int xor = 0;
    for (int x : v) {
      max = Math.max(max, x);
      min = Math.min(min, x);
      and &= x | 0x10;
      or |= x & 0xff;
      xor ^= x;
    }
    assertArrayEquals(new int[] {max, min, and, or, xor, 1, n, n % 10, (10 - n % 10) % 10},
        downloadInts(out, 9));
  }

  @Test
  void structPassedByValue() throws Exception {
    int n = 300;
    float[] x = floats(n);
    long dx = upload(x);
    long dy = ctx.allocate(4L * n);
    LoadedModule m = load("struct_param");
    KernelSignature sig = m.signatures().get("affine");
    assertEquals(List.of(KernelSignature.ParamType.BYTES, KernelSignature.ParamType.B64,
        KernelSignature.ParamType.B64), sig.params());
    assertEquals(List.of(0, 32, 40), sig.layout().stream().map(KernelSignature.Param::offset).toList());
    ByteBuffer p = ByteBuffer.allocate(sig.paramBytes()).order(ByteOrder.LITTLE_ENDIAN);
    float scale = 1.75f;
    float shift = -0.25f;
    double bias = 0.125;
    byte tag = -3;
    p.putFloat(0, scale).putFloat(4, shift).putInt(8, n - 1).putDouble(16, bias).put(24, tag);
    p.putLong(32, dx).putLong(40, dy);
    ctx.launchRaw(m, "affine", new Dim3(3, 1, 1), new Dim3(128, 1, 1), 0, p);
    float[] got = downloadFloats(dy, n);
    for (int i = 0; i < n - 1; i++) {
      float expected = Math.fma(scale, x[i], shift) + (float) bias + (float) tag;
      assertEquals(expected, got[i], 0f, "element " + i);
    }
    assertEquals(0f, got[n - 1], "p.n bounds the kernel");
  }

  @Test
  void deviceFunctionCalls() throws Exception {
    int n = 200;
    int degree = 5;
    float[] x = floats(n);
    long dx = upload(x);
    long dy = ctx.allocate(4L * n);
    ctx.launch(load("device_call"), "device_call", new Dim3(2, 1, 1), new Dim3(128, 1, 1), 0,
        List.of(ptr(dx), ptr(dy), i32(n), i32(degree)));
    float[] got = downloadFloats(dy, n);
    for (int i = 0; i < n; i++) {
      float v = x[Math.min(i + 1, n - 1)];
      float acc = 0f;
      for (int d = degree; d >= 0; d--) {
        acc = Math.fma(acc, v, (float) (d + 1));
      }
      assertEquals(acc, got[i], 0f, "element " + i);
    }
  }

  @Test
  void dynamicSharedMemory() throws Exception {
    int n = 1000;
    float[] x = floats(n);
    long dx = upload(x);
    long dy = upload(new float[n]);
    int block = 128;
    ctx.launch(load("dynamic_shared"), "reverse_block", new Dim3((n + block - 1) / block, 1, 1),
        new Dim3(block, 1, 1), block * 4, List.of(ptr(dx), ptr(dy), i32(n)));
    float[] got = downloadFloats(dy, n);
    for (int j = 0; j < n; j++) {
      int start = j / block * block;
      int i = start + (block - 1 - (j - start));
      assertEquals(i < n ? x[i] : 0f, got[j], 0f, "element " + j);
    }
  }

  @Test
  void gridStrideLoop() throws Exception {
    int n = 5000;
    float a = 0.5f;
    float[] x = floats(n);
    float[] y = floats(n);
    long dx = upload(x);
    long dy = upload(y);
    ctx.launch(load("grid_stride"), "grid_stride", new Dim3(3, 1, 1), new Dim3(64, 1, 1), 0,
        List.of(new KernelArgument.F32(a), ptr(dx), ptr(dy), new KernelArgument.I64(n)));
    float[] got = downloadFloats(dy, n);
    for (int i = 0; i < n; i++) {
      assertEquals(Math.fma(x[i], x[i] * a, y[i]), got[i], 0f, "element " + i);
    }
  }

  @Test
  void constantMemorySetFromTheHost() throws Exception {
    LoadedModule m = load("constant_mem");
    ModuleGlobal coeffs = m.globals().get("coeffs");
    assertEquals(32, coeffs.size());
    assertEquals(4, m.globals().get("degree").size());
    float[] c = {0.5f, -1f, 0.25f, 2f, 0, 0, 0, 0};
    ByteBuffer cb = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
    cb.asFloatBuffer().put(c);
    ctx.write(coeffs.address(), cb);
    int n = 100;
    float[] x = floats(n);
    long dx = upload(x);
    long dy = ctx.allocate(4L * n);
    ctx.launch(m, "constant_poly", new Dim3(1, 1, 1), new Dim3(128, 1, 1), 0,
        List.of(ptr(dx), ptr(dy), i32(n)));
    float[] table = {1f, 2f, 4f, 8f};
    float[] got = downloadFloats(dy, n);
    for (int i = 0; i < n; i++) {
      float acc = 0f;
      for (int d = 3; d >= 0; d--) {
        acc = Math.fma(acc, x[i], c[d]);
      }
      assertEquals(acc * table[i & 3], got[i], 0f, "element " + i);
    }
    assertEquals(n, downloadInts(m.globals().get("calls").address(), 1)[0]);
  }

  @Test
  void doublePrecision() throws Exception {
    int n = 256;
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = random.nextDouble() * 1000;
    }
    ByteBuffer xb = ByteBuffer.allocate(8 * n).order(ByteOrder.LITTLE_ENDIAN);
    xb.asDoubleBuffer().put(x);
    long dx = ctx.allocate(8L * n);
    ctx.write(dx, xb);
    long dy = ctx.allocate(8L * n);
    long df = ctx.allocate(4L * n);
    long dq = ctx.allocate(8L * n);
    ctx.launch(load("double_precision"), "double_math", new Dim3(2, 1, 1), new Dim3(128, 1, 1), 0,
        List.of(ptr(dx), ptr(dy), ptr(df), ptr(dq), i32(n)));
    ByteBuffer y = read(dy, 8 * n);
    ByteBuffer q = read(dq, 8 * n);
    float[] f = downloadFloats(df, n);
    for (int i = 0; i < n; i++) {
      double v = x[i];
      assertEquals(Math.sqrt(v) / (1.0 + v) + Math.fma(v, v, 0.5), y.getDouble(8 * i), 0.0, "y " + i);
      assertEquals((float) v, f[i], 0f, "f " + i);
      assertEquals((long) (v * 1000.0), q.getLong(8 * i), "q " + i);
    }
  }

  @Test
  void integerDivisionRemainderAndBitOperations() throws Exception {
    int n = 200;
    int[] a = new int[n];
    int[] b = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = random.nextInt();
      b[i] = random.nextInt(2000) - 1000;
      if (b[i] == 0) {
        b[i] = 7;
      }
    }
    a[0] = Integer.MIN_VALUE;
    b[0] = 3;
    long da = upload(a);
    long db = upload(b);
    long dq = ctx.allocate(4L * n);
    long dr = ctx.allocate(4L * n);
    long du = ctx.allocate(8L * n);
    long dbits = ctx.allocate(16L * n);
    ctx.launch(load("int_divmod"), "int_divmod", new Dim3(2, 1, 1), new Dim3(128, 1, 1), 0,
        List.of(ptr(da), ptr(db), ptr(dq), ptr(dr), ptr(du), ptr(dbits), i32(n)));
    int[] q = downloadInts(dq, n);
    int[] r = downloadInts(dr, n);
    int[] u = downloadInts(du, 2 * n);
    int[] bits = downloadInts(dbits, 4 * n);
    for (int i = 0; i < n; i++) {
      int x = a[i];
      int y = b[i];
      assertEquals(x / y, q[i], "q " + i);
      assertEquals(x % y, r[i], "r " + i);
      assertEquals(Integer.divideUnsigned(x, y), u[2 * i], "u/ " + i);
      assertEquals(Integer.remainderUnsigned(x, y), u[2 * i + 1], "u% " + i);
      assertEquals(Integer.bitCount(x), bits[4 * i], "popc " + i);
      assertEquals(Integer.numberOfLeadingZeros(x), bits[4 * i + 1], "clz " + i);
      assertEquals(Integer.reverse(x), bits[4 * i + 2], "brev " + i);
      assertEquals(Math.min(x, y) * 3 + Math.max(x, y) + Math.abs(x) + (x >> 3) + (x >>> 5),
          bits[4 * i + 3], "mixed " + i);
    }

    long[] la = new long[n];
    long[] lb = new long[n];
    for (int i = 0; i < n; i++) {
      la[i] = random.nextLong();
      lb[i] = random.nextInt(100_000) + 1;
      if (i % 3 == 0) {
        lb[i] = -lb[i];
      }
    }
    long dla = uploadLongs(la);
    long dlb = uploadLongs(lb);
    long dout = ctx.allocate(24L * n);
    ctx.launch(load("int_divmod"), "long_divmod", new Dim3(2, 1, 1), new Dim3(128, 1, 1), 0,
        List.of(ptr(dla), ptr(dlb), ptr(dout), i32(n)));
    ByteBuffer out = read(dout, 24 * n);
    for (int i = 0; i < n; i++) {
      assertEquals(la[i] / lb[i], out.getLong(24 * i), "q " + i);
      assertEquals(la[i] % lb[i], out.getLong(24 * i + 8), "r " + i);
      assertEquals(Math.multiplyHigh(la[i], lb[i]), out.getLong(24 * i + 16), "mulhi " + i);
    }
  }

  @Test
  void dataDependentBranchInsideAWarp() throws Exception {
    int n = 96;
    int[] v = new int[n];
    for (int i = 0; i < n; i++) {
      v[i] = random.nextInt(60);
    }
    long dv = upload(v);
    long out = ctx.allocate(8L * n);
    ctx.launch(load("divergent_branch"), "divergent", new Dim3(1, 1, 1), new Dim3(n, 1, 1), 0,
        List.of(ptr(dv), ptr(out), i32(n)));
    int[] acc = new int[n];
    for (int i = 0; i < n; i++) {
      int x = v[i];
      if ((x & 1) != 0) {
        for (int k = 0; k < x; k++) {
          acc[i] += k * 3;
        }
      } else {
        int k = x;
        while (k > 1) {
          k = (k & 1) != 0 ? 3 * k + 1 : k / 2;
          acc[i]++;
        }
      }
    }
    int[] got = downloadInts(out, 2 * n);
    for (int i = 0; i < n; i++) {
      assertEquals(acc[i], got[2 * i], "acc " + i);
      assertEquals(acc[i ^ 1], got[2 * i + 1], "the warp reconverged before the shuffle (lane " + i
          + ")");
    }
  }

  // ---- helpers

  private float[] floats(int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = random.nextFloat() * 2 - 1;
    }
    return a;
  }

  private static KernelArgument ptr(long address) {
    return new KernelArgument.Pointer(address);
  }

  private static KernelArgument i32(int v) {
    return new KernelArgument.I32(v);
  }

  private long upload(float[] values) throws DriverException {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    long p = ctx.allocate(b.capacity());
    ctx.write(p, b);
    return p;
  }

  private long upload(int[] values) throws DriverException {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asIntBuffer().put(values);
    long p = ctx.allocate(b.capacity());
    ctx.write(p, b);
    return p;
  }

  private long uploadLongs(long[] values) throws DriverException {
    ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    long p = ctx.allocate(b.capacity());
    ctx.write(p, b);
    return p;
  }

  private ByteBuffer read(long address, int bytes) throws DriverException {
    ctx.synchronize();
    ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    ctx.read(address, b);
    b.flip();
    return b;
  }

  private float[] downloadFloats(long address, int n) throws DriverException {
    float[] out = new float[n];
    read(address, 4 * n).asFloatBuffer().get(out);
    return out;
  }

  private int[] downloadInts(long address, int n) throws DriverException {
    int[] out = new int[n];
    read(address, 4 * n).asIntBuffer().get(out);
    return out;
  }
}
