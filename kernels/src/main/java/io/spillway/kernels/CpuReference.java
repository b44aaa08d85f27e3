package io.spillway.kernels;

/**
 * Plain-Java reference results for the kernels of {@link SpillwayKernels}, used to check what a
 * driver computed. Same layout and semantics as the CUDA source; results may differ from a GPU's in
 * the last bits (fused multiply-add, {@code expf}), so compare with a tolerance.
 *
 * <p>Kept independent of any driver's host emulation on purpose: it is what those are checked against.
 * Every method returns a new array and leaves its inputs alone.
 */
public final class CpuReference {

  private CpuReference() {}

  /** a + b, element-wise. */
  public static float[] vectorAdd(float[] a, float[] b) {
    requireSameLength("vectorAdd", a.length, b.length);
    float[] c = new float[a.length];
    for (int i = 0; i < c.length; i++) {
      c[i] = a[i] + b[i];
    }
    return c;
  }

  /** alpha * x + y, element-wise. */
  public static float[] saxpy(float alpha, float[] x, float[] y) {
    requireSameLength("saxpy", x.length, y.length);
    float[] r = new float[y.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = alpha * x[i] + y[i];
    }
    return r;
  }

  /**
   * x[batch][in] . w[in][out] + bias[out], row-major, then ReLU when {@code relu}.
   *
   * @return y[batch][out], row-major
   */
  public static float[] dense(float[] x, float[] w, float[] bias, int batch, int in, int out,
      boolean relu) {
    requireLength("dense x", x.length, (long) batch * in);
    requireLength("dense w", w.length, (long) in * out);
    requireLength("dense bias", bias.length, out);
    float[] y = new float[batch * out];
    for (int r = 0; r < batch; r++) {
      for (int c = 0; c < out; c++) {
        float acc = bias[c];
        for (int k = 0; k < in; k++) {
          acc += x[r * in + k] * w[k * out + c];
        }
        y[r * out + c] = relu && acc < 0f ? 0f : acc;
      }
    }
    return y;
  }

  /** Row-wise softmax of x[rows][cols], subtracting each row's max first. */
  public static float[] softmax(float[] x, int rows, int cols) {
    requireLength("softmax x", x.length, (long) rows * cols);
    float[] y = new float[x.length];
    for (int r = 0; r < rows; r++) {
      int base = r * cols;
      float max = Float.NEGATIVE_INFINITY;
      for (int c = 0; c < cols; c++) {
        max = Math.max(max, x[base + c]);
      }
      float sum = 0f;
      for (int c = 0; c < cols; c++) {
        float e = (float) Math.exp(x[base + c] - max);
        y[base + c] = e;
        sum += e;
      }
      float inv = 1f / sum;
      for (int c = 0; c < cols; c++) {
        y[base + c] *= inv;
      }
    }
    return y;
  }

  private static void requireSameLength(String op, int a, int b) {
    if (a != b) {
      throw new IllegalArgumentException(op + ": operand lengths differ: " + a + " and " + b);
    }
  }

  private static void requireLength(String what, int actual, long expected) {
    if (actual != expected) {
      throw new IllegalArgumentException(what + " has " + actual + " elements, expected " + expected);
    }
  }
}
