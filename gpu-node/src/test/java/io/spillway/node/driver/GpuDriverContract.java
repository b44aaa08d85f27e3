package io.spillway.node.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.spillway.kernels.CpuReference;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.driver.DriverContext.Dim3;
import io.spillway.node.driver.DriverException.Kind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link GpuDriver} owes the node, run against each implementation: extend it,
 * implement {@link #newDriver()}, and override the capability methods where a driver cannot be tested
 * some way. Kernel results are checked against {@link CpuReference}.
 */
public abstract class GpuDriverContract {

  private static final float TOLERANCE = 1e-4f;

  protected GpuDriver driver;
  private final Random random = new Random(42);

  /** A fresh driver with at least one device; closed after each test. */
  protected abstract GpuDriver newDriver() throws Exception;

  /**
   * Whether a test may fill a device's memory from several contexts and expect the last allocation to
   * fail: true where {@link GpuDevice#memoryBytes()} is exactly what can be allocated (the host driver);
   * false on a real GPU, where the driver and other processes hold part of it.
   */
  protected boolean devicesHaveExactMemory() {
    return true;
  }

  @BeforeEach
  void openDriver() throws Exception {
    driver = newDriver();
  }

  @AfterEach
  void closeDriver() {
    if (driver != null) {
      driver.close();
    }
  }

  @Test
  void devicesAreIndexedInOrderAndDescribed() {
    List<GpuDevice> devices = driver.devices();
    assertFalse(devices.isEmpty());
    for (int i = 0; i < devices.size(); i++) {
      GpuDevice d = devices.get(i);
      assertEquals(i, d.index());
      assertTrue(d.memoryBytes() > 0, d.toString());
      assertFalse(d.model().isBlank(), d.toString());
      assertFalse(d.uuid().isBlank(), d.toString());
    }
    assertEquals(devices.size(), devices.stream().map(GpuDevice::uuid).distinct().count());
  }

  @Test
  void writeAndReadRoundTripAtOffsets() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      long buf = ctx.allocate(4096);
      byte[] heap = bytes(100, 1);
      ByteBuffer heapSrc = ByteBuffer.wrap(new byte[120], 10, 100).slice();
      heapSrc.put(heap).flip();
      ctx.write(buf + 100, heapSrc);
      assertEquals(0, heapSrc.remaining(), "write consumes the source");

      ByteBuffer direct = ByteBuffer.allocateDirect(300);
      byte[] directBytes = bytes(300, 7);
      direct.put(directBytes).flip().position(50);
      ctx.write(buf + 1000, direct);
      assertEquals(300, direct.position());

      ByteBuffer back = ByteBuffer.allocate(100);
      ctx.read(buf + 100, back);
      assertEquals(100, back.position(), "read fills the destination");
      assertArrayEquals(heap, back.array());

      ByteBuffer directBack = ByteBuffer.allocateDirect(260).position(10);
      ctx.read(buf + 1000, directBack);
      byte[] got = new byte[250];
      directBack.position(10).get(got);
      assertArrayEquals(java.util.Arrays.copyOfRange(directBytes, 50, 300), got);
    }
  }

  @Test
  void memoryAnotherContextFreedComesBackZeroed() throws Exception {
    int size = 1 << 20;
    try (DriverContext first = driver.createContext(0)) {
      long buf = first.allocate(size);
      first.fill(buf, size, (byte) 0x5a);
      first.synchronize();
      first.free(buf);
    }
    try (DriverContext second = driver.createContext(0)) {
      long buf = second.allocate(size);
      assertArrayEquals(new byte[size], readBytes(second, buf, size),
          "a new allocation must not show what another context left there");
    }
  }

  @Test
  void fillSetsExactlyTheRange() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      long buf = ctx.allocate(1024);
      ctx.write(buf, ByteBuffer.wrap(bytes(1024, 3)));
      ctx.fill(buf + 256, 512, (byte) 0x7f);
      byte[] all = readBytes(ctx, buf, 1024);
      byte[] expected = bytes(1024, 3);
      java.util.Arrays.fill(expected, 256, 768, (byte) 0x7f);
      assertArrayEquals(expected, all);
    }
  }

  @Test
  void vectorAddMatchesReferenceAndStopsAtN() throws Exception {
    int n = 1000;
    try (DriverContext ctx = driver.createContext(0)) {
      LoadedModule m = loadKernels(ctx);
      float[] a = randomFloats(n);
      float[] b = randomFloats(n);
      long da = upload(ctx, a);
      long db = upload(ctx, b);
      long dc = upload(ctx, filled(n + 24, -7f));
      ctx.launch(m, SpillwayKernels.VECTOR_ADD, new Dim3(8, 1, 1), new Dim3(128, 1, 1), 0,
          List.of(ptr(da), ptr(db), ptr(dc), i32(n)));
      float[] c = download(ctx, dc, n + 24);
      assertArrayEquals(CpuReference.vectorAdd(a, b), java.util.Arrays.copyOf(c, n), TOLERANCE);
      assertArrayEquals(filled(24, -7f), java.util.Arrays.copyOfRange(c, n, n + 24),
          "elements at n and beyond are untouched");
    }
  }

  @Test
  void saxpyUpdatesYInPlace() throws Exception {
    int n = 777;
    try (DriverContext ctx = driver.createContext(0)) {
      LoadedModule m = loadKernels(ctx);
      float[] x = randomFloats(n);
      float[] y = randomFloats(n);
      long dx = upload(ctx, x);
      long dy = upload(ctx, y);
      ctx.launch(m, SpillwayKernels.SAXPY, new Dim3(4, 1, 1), new Dim3(256, 1, 1), 0,
          List.of(new KernelArgument.F32(2.5f), ptr(dx), ptr(dy), i32(n)));
      assertArrayEquals(CpuReference.saxpy(2.5f, x, y), download(ctx, dy, n), TOLERANCE);
    }
  }

  @Test
  void denseMatchesReferenceWithAndWithoutRelu() throws Exception {
    int batch = 4;
    int in = 64;
    int out = 32;
    try (DriverContext ctx = driver.createContext(0)) {
      LoadedModule m = loadKernels(ctx);
      float[] x = randomFloats(batch * in);
      float[] w = randomFloats(in * out);
      float[] bias = randomFloats(out);
      long dx = upload(ctx, x);
      long dw = upload(ctx, w);
      long db = upload(ctx, bias);
      long dy = ctx.allocate(4L * batch * out);
      for (boolean relu : new boolean[] {false, true}) {
        ctx.launch(m, SpillwayKernels.DENSE, new Dim3(1, 1, 1), new Dim3(out, batch, 1), 0,
            List.of(ptr(dx), ptr(dw), ptr(db), ptr(dy), i32(batch), i32(in), i32(out), i32(relu ? 1 : 0)));
        float[] expected = CpuReference.dense(x, w, bias, batch, in, out, relu);
        float[] actual = download(ctx, dy, batch * out);
        assertArrayEquals(expected, actual, TOLERANCE, "relu=" + relu);
        boolean anyNegative = false;
        for (float v : actual) {
          anyNegative |= v < 0;
        }
        assertEquals(!relu, anyNegative, "relu=" + relu + " and negative outputs");
      }
    }
  }

  @Test
  void softmaxRowsMatchReferenceAndSumToOne() throws Exception {
    int rows = 8;
    int cols = 100;
    try (DriverContext ctx = driver.createContext(0)) {
      LoadedModule m = loadKernels(ctx);
      float[] x = randomFloats(rows * cols);
      x[5] = 80f; // exp(80) overflows float unless the row max is subtracted
      long dx = upload(ctx, x);
      long dy = ctx.allocate(4L * rows * cols);
      ctx.launch(m, SpillwayKernels.SOFTMAX, new Dim3(1, 1, 1), new Dim3(32, 1, 1), 0,
          List.of(ptr(dx), ptr(dy), i32(rows), i32(cols)));
      float[] y = download(ctx, dy, rows * cols);
      assertArrayEquals(CpuReference.softmax(x, rows, cols), y, 1e-6f);
      for (int r = 0; r < rows; r++) {
        double sum = 0;
        for (int c = 0; c < cols; c++) {
          sum += y[r * cols + c];
        }
        assertEquals(1.0, sum, 1e-5, "row " + r);
      }
      assertTrue(y[5] > 0.99f, "the 80 dominates row 0: " + y[5]);
    }
  }

  @Test
  void fillF32WritesNValues() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      LoadedModule m = loadKernels(ctx);
      long p = upload(ctx, filled(300, 1f));
      ctx.launch(m, SpillwayKernels.FILL_F32, new Dim3(2, 1, 1), new Dim3(256, 1, 1), 0,
          List.of(ptr(p), new KernelArgument.F32(3.25f), i32(299)));
      float[] expected = filled(300, 3.25f);
      expected[299] = 1f;
      assertArrayEquals(expected, download(ctx, p, 300));
    }
  }

  @Test
  void contextsOnOneDeviceDoNotShareMemory() throws Exception {
    try (DriverContext a = driver.createContext(0); DriverContext b = driver.createContext(0)) {
      float[] secret = filled(256, 12345f);
      long inA = upload(a, secret);
      long inB = b.allocate(4 * 256);
      assertNotEquals(inA, inB);
      LoadedModule mb = loadKernels(b);
      b.launch(mb, SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(256, 1, 1), 0,
          List.of(ptr(inB), new KernelArgument.F32(-1f), i32(256)));
      assertArrayEquals(filled(256, -1f), download(b, inB, 256));
      assertArrayEquals(secret, download(a, inA, 256), "B's kernel left A's buffer alone");
    }
  }

  @Test
  void kernelFaultPoisonsItsContextOnly() throws Exception {
    try (DriverContext bad = driver.createContext(0); DriverContext good = driver.createContext(0)) {
      LoadedModule m = loadKernels(bad);
      long p = upload(bad, filled(4, 1f));
      KernelArgument unmapped = new KernelArgument.I64(0x100);
      DriverException fault = assertThrows(DriverException.class, () -> {
        bad.launch(m, SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(32, 1, 1), 0,
            List.of(unmapped, new KernelArgument.F32(1f), i32(32)));
        bad.synchronize();
      });
      assertEquals(Kind.KERNEL_FAULT, fault.kind(), fault.getMessage());
      DriverException later = assertThrows(DriverException.class, () -> download(bad, p, 4));
      assertEquals(Kind.KERNEL_FAULT, later.kind(), later.getMessage());

      LoadedModule gm = loadKernels(good);
      long q = good.allocate(4 * 64);
      good.launch(gm, SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(64, 1, 1), 0,
          List.of(ptr(q), new KernelArgument.F32(6f), i32(64)));
      good.synchronize();
      assertArrayEquals(filled(64, 6f), download(good, q, 64));
    }
  }

  @Test
  void allocationLargerThanTheDeviceIsOutOfMemory() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      long tooMuch = ctx.device().memoryBytes() + 1;
      DriverException e = assertThrows(DriverException.class, () -> ctx.allocate(tooMuch));
      assertEquals(Kind.OUT_OF_MEMORY, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains(Long.toString(tooMuch)), e.getMessage());
      long small = ctx.allocate(64);
      ctx.write(small, ByteBuffer.wrap(bytes(64, 9)));
      assertArrayEquals(bytes(64, 9), readBytes(ctx, small, 64), "the context still works");
    }
  }

  @Test
  void allocationsOfAllContextsShareTheDevice() throws Exception {
    assumeTrue(devicesHaveExactMemory(), "device memory is not exactly allocatable");
    long third = driver.devices().get(0).memoryBytes() / 3;
    try (DriverContext a = driver.createContext(0); DriverContext b = driver.createContext(0)) {
      a.allocate(third);
      b.allocate(third);
      a.allocate(third);
      DriverException e = assertThrows(DriverException.class, () -> b.allocate(third));
      assertEquals(Kind.OUT_OF_MEMORY, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains(Long.toString(third)), e.getMessage());
    }
  }

  @Test
  void closingAContextReturnsItsMemory() throws Exception {
    long big = driver.devices().get(0).memoryBytes() / 10 * 6;
    DriverContext first = driver.createContext(0);
    first.allocate(big);
    first.close();
    first.close();
    try (DriverContext second = driver.createContext(0)) {
      long p = second.allocate(big);
      second.fill(p, 256, (byte) 1);
      assertArrayEquals(filledBytes(256, (byte) 1), readBytes(second, p, 256));
    }
  }

  @Test
  void freedMemoryCanBeAllocatedAgain() throws Exception {
    long big = driver.devices().get(0).memoryBytes() / 10 * 6;
    try (DriverContext ctx = driver.createContext(0)) {
      long p = ctx.allocate(big);
      ctx.free(p);
      long q = ctx.allocate(big);
      assertTrue(q != 0);
      DriverException e = assertThrows(DriverException.class, () -> ctx.free(p == q ? q + 8 : p));
      assertEquals(Kind.INVALID, e.kind(), e.getMessage());
    }
  }

  @Test
  void launchingAnUndeclaredFunctionIsInvalid() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      LoadedModule m = loadKernels(ctx);
      DriverException e = assertThrows(DriverException.class, () -> ctx.launch(m, "matmul_tiled",
          new Dim3(1, 1, 1), new Dim3(1, 1, 1), 0, List.of()));
      assertEquals(Kind.INVALID, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains("matmul_tiled"), e.getMessage());
      assertTrue(e.getMessage().contains(SpillwayKernels.MODULE_NAME), e.getMessage());
    }
  }

  @Test
  void wrongArgumentsAreInvalid() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      LoadedModule m = loadKernels(ctx);
      long p = ctx.allocate(64);
      DriverException count = assertThrows(DriverException.class, () -> ctx.launch(m,
          SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(16, 1, 1), 0, List.of(ptr(p))));
      assertEquals(Kind.INVALID, count.kind(), count.getMessage());
      DriverException type = assertThrows(DriverException.class, () -> ctx.launch(m,
          SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(16, 1, 1), 0,
          List.of(ptr(p), i32(3), i32(16))));
      assertEquals(Kind.INVALID, type.kind(), type.getMessage());
      assertTrue(type.getMessage().contains("argument 1 is i32"), type.getMessage());
    }
  }

  @Test
  void loadingSomethingThatIsNotPtxIsInvalid() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      byte[] junk = "this is not a kernel image\0".getBytes(StandardCharsets.US_ASCII);
      DriverException e = assertThrows(DriverException.class, () -> ctx.loadModule(junk, "junk.ptx"));
      assertEquals(Kind.INVALID, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains("junk.ptx"), e.getMessage());
      assertNotEquals(null, loadKernels(ctx), "a good module still loads afterwards");
    }
  }

  @Test
  void ptxWithoutTrailingNulLoads() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      byte[] ptx = SpillwayKernels.ptx();
      LoadedModule m = ctx.loadModule(java.util.Arrays.copyOf(ptx, ptx.length - 1), "no-nul.ptx");
      assertEquals(SpillwayKernels.FUNCTIONS, List.copyOf(m.signatures().keySet()));
      long p = ctx.allocate(16);
      ctx.launch(m, SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(4, 1, 1), 0,
          List.of(ptr(p), new KernelArgument.F32(0.5f), i32(4)));
      assertArrayEquals(filled(4, 0.5f), download(ctx, p, 4));
    }
  }

  @Test
  void copyMovesBytesBetweenAllocationsAndWithinOneAsMemmove() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      byte[] data = bytes(256, 3);
      long a = ctx.allocate(256);
      long b = ctx.allocate(256);
      ctx.write(a, ByteBuffer.wrap(data));
      ctx.copy(b + 10, a + 20, 100);
      byte[] got = readBytes(ctx, b, 256);
      byte[] expected = new byte[256];
      System.arraycopy(data, 20, expected, 10, 100);
      assertArrayEquals(expected, got);

      ctx.copy(a + 8, a, 200);
      byte[] shifted = data.clone();
      System.arraycopy(data, 0, shifted, 8, 200);
      assertArrayEquals(shifted, readBytes(ctx, a, 256), "overlapping copy forward");
      ctx.copy(a, a + 8, 200);
      byte[] back = shifted.clone();
      System.arraycopy(shifted, 8, back, 0, 200);
      assertArrayEquals(back, readBytes(ctx, a, 256), "overlapping copy backward");
    }
  }

  @Test
  void memsetWritesElementsOfEachWidthLittleEndian() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      long p = ctx.allocate(64);
      ctx.memset(p + 1, 1, 0x1ab, 3);
      ctx.memset(p + 8, 2, 0x12345678, 2);
      ctx.memset(p + 16, 4, 0xcafebabe, 2);
      byte[] got = readBytes(ctx, p, 32);
      byte[] expected = new byte[32];
      expected[1] = expected[2] = expected[3] = (byte) 0xab;
      expected[8] = expected[10] = 0x78;
      expected[9] = expected[11] = 0x56;
      for (int i = 16; i < 24; i += 4) {
        expected[i] = (byte) 0xbe;
        expected[i + 1] = (byte) 0xba;
        expected[i + 2] = (byte) 0xfe;
        expected[i + 3] = (byte) 0xca;
      }
      assertArrayEquals(expected, got);
      DriverException e = assertThrows(DriverException.class, () -> ctx.memset(p, 3, 0, 1));
      assertEquals(Kind.INVALID, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains("width 3"), e.getMessage());
    }
  }

  @Test
  void rawLaunchTakesTheBufferTheLayoutDescribes() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      LoadedModule m = loadKernels(ctx);
      KernelSignature sig = m.signatures().get(SpillwayKernels.SAXPY);
      assertEquals(List.of(0, 8, 16, 24), sig.layout().stream().map(KernelSignature.Param::offset)
          .toList(), "the f32 is padded to the pointer's 8-byte alignment");
      assertEquals(28, sig.paramBytes());
      int n = 100;
      float[] x = randomFloats(n);
      float[] y = randomFloats(n);
      long dx = upload(ctx, x);
      long dy = upload(ctx, y);
      ByteBuffer params = ByteBuffer.allocate(sig.paramBytes()).order(ByteOrder.LITTLE_ENDIAN);
      params.putFloat(0, 1.5f).putLong(8, dx).putLong(16, dy).putInt(24, n);
      ctx.launchRaw(m, SpillwayKernels.SAXPY, new Dim3(1, 1, 1), new Dim3(128, 1, 1), 0, params);
      ctx.synchronize();
      assertArrayEquals(CpuReference.saxpy(1.5f, x, y), download(ctx, dy, n), TOLERANCE);
      assertEquals(0, params.position(), "the buffer is left as it was");

      DriverException shortBuffer = assertThrows(DriverException.class, () -> ctx.launchRaw(m,
          SpillwayKernels.SAXPY, new Dim3(1, 1, 1), new Dim3(1, 1, 1), 0, ByteBuffer.allocate(20)));
      assertEquals(Kind.INVALID, shortBuffer.kind(), shortBuffer.getMessage());
      assertTrue(shortBuffer.getMessage().contains("20 bytes"), shortBuffer.getMessage());
    }
  }

  // ---- helpers

  protected static LoadedModule loadKernels(DriverContext ctx) throws DriverException {
    return ctx.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
  }

  protected static KernelArgument ptr(long address) {
    return new KernelArgument.Pointer(address);
  }

  protected static KernelArgument i32(int v) {
    return new KernelArgument.I32(v);
  }

  protected static long upload(DriverContext ctx, float[] values) throws DriverException {
    long p = ctx.allocate(4L * values.length);
    ByteBuffer b = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    ctx.write(p, b);
    return p;
  }

  protected static float[] download(DriverContext ctx, long address, int count) throws DriverException {
    ByteBuffer b = ByteBuffer.allocateDirect(4 * count).order(ByteOrder.LITTLE_ENDIAN);
    ctx.read(address, b);
    float[] out = new float[count];
    b.flip();
    b.asFloatBuffer().get(out);
    return out;
  }

  protected static byte[] readBytes(DriverContext ctx, long address, int count) throws DriverException {
    ByteBuffer b = ByteBuffer.allocate(count);
    ctx.read(address, b);
    return b.array();
  }

  protected static float[] filled(int n, float v) {
    float[] a = new float[n];
    java.util.Arrays.fill(a, v);
    return a;
  }

  private static byte[] filledBytes(int n, byte v) {
    byte[] a = new byte[n];
    java.util.Arrays.fill(a, v);
    return a;
  }

  protected float[] randomFloats(int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = random.nextFloat() * 2 - 1;
    }
    return a;
  }

  private static byte[] bytes(int n, int seed) {
    byte[] a = new byte[n];
    for (int i = 0; i < n; i++) {
      a[i] = (byte) (i * 31 + seed);
    }
    return a;
  }
}
