package io.spillway.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

/**
 * Spillway's kernel library: the PTX built from {@code src/main/cuda/spillway_kernels.cu} (compute_90,
 * JIT-compiled by the CUDA driver on load) and the names of its functions.
 *
 * <p>Every kernel works on float32, row-major data, one thread per output element, and guards on its
 * size arguments, so any grid that covers the work is correct:
 * <ul>
 *   <li>{@link #VECTOR_ADD}{@code (const float* a, const float* b, float* c, int n)}: c = a + b
 *   <li>{@link #SAXPY}{@code (float alpha, const float* x, float* y, int n)}: y = alpha * x + y
 *   <li>{@link #DENSE}{@code (const float* x, const float* w, const float* bias, float* y, int batch,
 *       int in, int out, int relu)}: y[batch][out] = x[batch][in] . w[in][out] + bias[out], then ReLU
 *       when relu != 0. Grid x covers {@code out}, grid y covers {@code batch}.
 *   <li>{@link #SOFTMAX}{@code (const float* x, float* y, int rows, int cols)}: row-wise, max-subtracted;
 *       one thread per row, grid x covers {@code rows}.
 *   <li>{@link #FILL_F32}{@code (float* p, float value, int n)}
 * </ul>
 * {@link CpuReference} computes the same results in plain Java.
 *
 * <p>The PTX's leading comments are its module descriptor: a {@code // spillway.pointer-access FUNCTION
 * ACCESS,...} line per function saying what it does with each parameter ({@code in}, {@code out},
 * {@code inout}, {@code -} for a value), which the SDK reads from any module image to fill in the access
 * of a pointer passed without one, so that a gateway can rebuild sessions that use the library.
 */
public final class SpillwayKernels {

  /** The module name nodes and workloads load the library under. */
  public static final String MODULE_NAME = "spillway_kernels.ptx";

  public static final String VECTOR_ADD = "vector_add";
  public static final String SAXPY = "saxpy";
  public static final String DENSE = "dense";
  public static final String SOFTMAX = "softmax";
  public static final String FILL_F32 = "fill_f32";

  /** Every function the library declares, in source order. */
  public static final List<String> FUNCTIONS = List.of(VECTOR_ADD, SAXPY, DENSE, SOFTMAX, FILL_F32);

  private static final String RESOURCE = MODULE_NAME;

  private static final byte[] PTX = load();

  private SpillwayKernels() {}

  /**
   * The PTX image, ending with one NUL byte as {@code cuModuleLoadData} requires. A fresh copy on each
   * call, so callers may keep or modify it.
   */
  public static byte[] ptx() {
    return PTX.clone();
  }

  private static byte[] load() {
    try (InputStream in = SpillwayKernels.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("resource io/spillway/kernels/" + RESOURCE
            + " missing from the classpath (run kernels/build-ptx.sh and rebuild the jar)");
      }
      byte[] text = in.readAllBytes();
      int end = text.length;
      while (end > 0 && text[end - 1] == 0) {
        end--;
      }
      return Arrays.copyOf(text, end + 1);
    } catch (IOException e) {
      throw new UncheckedIOException("reading resource io/spillway/kernels/" + RESOURCE, e);
    }
  }
}
