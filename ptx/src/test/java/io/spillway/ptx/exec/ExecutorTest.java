package io.spillway.ptx.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.kernels.CpuReference;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.parse.PtxParser;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class ExecutorTest {

  private static Map<String, Kernel> library() throws Exception {
    byte[] ptx = SpillwayKernels.ptx();
    PtxModule m = PtxParser.parse(new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII));
    return Decoder.decodeAll(m, v -> {
      throw new AssertionError("no variables");
    });
  }

  private static float[] random(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = r.nextFloat() * 2 - 1;
    }
    return a;
  }

  @Test
  void denseIsBitExactWithFusedMultiplyAdd() throws Exception {
    Kernel dense = library().get("dense");
    Random r = new Random(1);
    int batch = 5;
    int in = 37;
    int out = 70;
    float[] x = random(r, batch * in);
    float[] w = random(r, in * out);
    float[] bias = random(r, out);
    TestMemory mem = new TestMemory();
    long px = mem.floats(x);
    long pw = mem.floats(w);
    long pb = mem.floats(bias);
    long py = mem.alloc(4 * batch * out);
    ByteBuffer p = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
    p.putLong(0, px).putLong(8, pw).putLong(16, pb).putLong(24, py).putInt(32, batch).putInt(36, in)
        .putInt(40, out).putInt(44, 1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      new Executor(pool, 3).launch(dense, (out + 15) / 16, (batch + 15) / 16, 1, 16, 16, 1, 0, p, mem,
          1L << 30);
    } finally {
      pool.shutdown();
    }
    float[] expected = new float[batch * out];
    for (int row = 0; row < batch; row++) {
      for (int col = 0; col < out; col++) {
        float acc = bias[col];
        for (int k = 0; k < in; k++) {
          acc = Math.fma(x[row * in + k], w[k * out + col], acc);
        }
        expected[row * out + col] = acc < 0 ? 0 : acc;
      }
    }
    assertArrayEquals(expected, mem.readFloats(py, batch * out), 0f);
    assertArrayEquals(CpuReference.dense(x, w, bias, batch, in, out, true),
        mem.readFloats(py, batch * out), 1e-4f);
  }

  @Test
  void softmaxMatchesReference() throws Exception {
    Kernel softmax = library().get("softmax");
    Random r = new Random(2);
    int rows = 9;
    int cols = 13;
    float[] x = random(r, rows * cols);
    TestMemory mem = new TestMemory();
    long px = mem.floats(x);
    long py = mem.alloc(4 * rows * cols);
    ByteBuffer p = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    p.putLong(0, px).putLong(8, py).putInt(16, rows).putInt(20, cols);
    Executor.serial().launch(softmax, 1, 1, 1, 32, 1, 1, 0, p, mem, 1L << 30);
    assertArrayEquals(CpuReference.softmax(x, rows, cols), mem.readFloats(py, rows * cols), 1e-6f);
  }

  @Test
  void outOfBoundsStoreFaultsNamingTheInstruction() throws Exception {
    Kernel fill = library().get("fill_f32");
    TestMemory mem = new TestMemory();
    long p = mem.alloc(40);
    ByteBuffer params = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    params.putLong(0, p).putFloat(8, 1f).putInt(12, 11);
    KernelFault f = assertThrows(KernelFault.class, () -> Executor.serial().launch(fill, 1, 1, 1, 32,
        1, 1, 0, params, mem, 1L << 20));
    assertTrue(f.getMessage().contains("st.global.f32"), f.getMessage());
    assertTrue(f.getMessage().contains("thread (10,0,0)"), f.getMessage());
    assertEquals(1f, mem.readFloats(p, 10)[9]);
  }
}
