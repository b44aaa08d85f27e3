package io.spillway.node.driver;

import static io.spillway.node.driver.KernelSignature.ParamType.B32;
import static io.spillway.node.driver.KernelSignature.ParamType.B64;
import static io.spillway.node.driver.KernelSignature.ParamType.F32;

import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.driver.HostMemory.Floats;
import io.spillway.node.driver.KernelSignature.ParamType;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Java versions of {@link SpillwayKernels}' CUDA kernels ({@code kernels/src/main/cuda}), by function
 * name, each with the parameter list its {@code .entry} declares. A kernel runs only for a module whose
 * declaration of that name has the same parameter types, so a foreign module's {@code dense} with a
 * different signature is never mistaken for ours.
 */
final class HostKernels {

  /** A host kernel and the PTX parameter types it was written for. */
  record Entry(List<ParamType> params, HostKernel kernel) {}

  private static final Map<String, Entry> KERNELS = new TreeMap<>(Map.of(
      SpillwayKernels.VECTOR_ADD, new Entry(List.of(B64, B64, B64, B32), HostKernels::vectorAdd),
      SpillwayKernels.SAXPY, new Entry(List.of(F32, B64, B64, B32), HostKernels::saxpy),
      SpillwayKernels.DENSE,
      new Entry(List.of(B64, B64, B64, B64, B32, B32, B32, B32), HostKernels::dense),
      SpillwayKernels.SOFTMAX, new Entry(List.of(B64, B64, B32, B32), HostKernels::softmax),
      SpillwayKernels.FILL_F32, new Entry(List.of(B64, F32, B32), HostKernels::fillF32)));

  private HostKernels() {}

  static Entry find(String function) {
    return KERNELS.get(function);
  }

  /** For error messages: every implemented kernel with its parameter types, sorted by name. */
  static String describe() {
    StringBuilder sb = new StringBuilder();
    KERNELS.forEach((name, e) -> {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(name).append(e.params());
    });
    return sb.toString();
  }

  // c[i] = a[i] + b[i] for i < n
  private static void vectorAdd(HostKernel.LaunchShape shape, List<KernelArgument> args,
      HostMemory mem) {
    long n = Math.min(i32(args, 3), shape.threadsX());
    if (n <= 0) {
      return;
    }
    Floats a = mem.floats(ptr(args, 0));
    Floats b = mem.floats(ptr(args, 1));
    Floats c = mem.floats(ptr(args, 2));
    for (long i = 0; i < n; i++) {
      c.set(i, a.get(i) + b.get(i));
    }
  }

  // y[i] = alpha * x[i] + y[i] for i < n
  private static void saxpy(HostKernel.LaunchShape shape, List<KernelArgument> args, HostMemory mem) {
    long n = Math.min(i32(args, 3), shape.threadsX());
    if (n <= 0) {
      return;
    }
    float alpha = f32(args, 0);
    Floats x = mem.floats(ptr(args, 1));
    Floats y = mem.floats(ptr(args, 2));
    for (long i = 0; i < n; i++) {
      y.set(i, alpha * x.get(i) + y.get(i));
    }
  }

  // y[row][col] = bias[col] + sum_k x[row][k] * w[k][col], then ReLU; grid x covers col, y covers row
  private static void dense(HostKernel.LaunchShape shape, List<KernelArgument> args, HostMemory mem) {
    int in = i32(args, 5);
    int out = i32(args, 6);
    boolean relu = i32(args, 7) != 0;
    long rows = Math.min(i32(args, 4), shape.threadsY());
    long cols = Math.min(out, shape.threadsX());
    if (rows <= 0 || cols <= 0) {
      return;
    }
    Floats x = mem.floats(ptr(args, 0));
    Floats w = mem.floats(ptr(args, 1));
    Floats bias = mem.floats(ptr(args, 2));
    Floats y = mem.floats(ptr(args, 3));
    for (long row = 0; row < rows; row++) {
      long xr = row * in;
      for (long col = 0; col < cols; col++) {
        float acc = bias.get(col);
        for (long k = 0; k < in; k++) {
          acc += x.get(xr + k) * w.get(k * out + col);
        }
        y.set(row * out + col, relu && acc < 0f ? 0f : acc);
      }
    }
  }

  // one thread per row r < rows: y[r] = exp(x[r] - max(x[r])) / sum
  private static void softmax(HostKernel.LaunchShape shape, List<KernelArgument> args,
      HostMemory mem) {
    long rows = Math.min(i32(args, 2), shape.threadsX());
    int cols = i32(args, 3);
    if (rows <= 0) {
      return;
    }
    Floats x = mem.floats(ptr(args, 0));
    Floats y = mem.floats(ptr(args, 1));
    for (long r = 0; r < rows; r++) {
      long base = r * cols;
      float max = Float.NEGATIVE_INFINITY;
      for (int c = 0; c < cols; c++) {
        max = Math.max(max, x.get(base + c));
      }
      float sum = 0f;
      for (int c = 0; c < cols; c++) {
        float e = (float) Math.exp(x.get(base + c) - max);
        y.set(base + c, e);
        sum += e;
      }
      float inv = 1f / sum;
      for (int c = 0; c < cols; c++) {
        y.set(base + c, y.get(base + c) * inv);
      }
    }
  }

  // p[i] = value for i < n
  private static void fillF32(HostKernel.LaunchShape shape, List<KernelArgument> args,
      HostMemory mem) {
    long n = Math.min(i32(args, 2), shape.threadsX());
    if (n <= 0) {
      return;
    }
    float value = f32(args, 1);
    Floats p = mem.floats(ptr(args, 0));
    for (long i = 0; i < n; i++) {
      p.set(i, value);
    }
  }

  /** A {@code .u64} pointer parameter: a translated pointer, or a raw 64-bit address. */
  private static long ptr(List<KernelArgument> args, int i) {
    KernelArgument a = args.get(i);
    return a instanceof KernelArgument.Pointer p ? p.address() : ((KernelArgument.I64) a).value();
  }

  private static int i32(List<KernelArgument> args, int i) {
    return ((KernelArgument.I32) args.get(i)).value();
  }

  private static float f32(List<KernelArgument> args, int i) {
    return ((KernelArgument.F32) args.get(i)).value();
  }
}
