package io.spillway.workload;

import io.spillway.kernels.CpuReference;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A multi-layer perceptron: dense layers with ReLU between them and a softmax at the end. Weights are
 * drawn from a seeded generator, so two processes that build the same model agree bit for bit, and
 * {@link #forwardCpu} is the reference a GPU's answer is checked against.
 */
public final class MlpModel {

  /** One dense layer: w[in][out] row-major, bias[out]. */
  public record Layer(int in, int out, float[] weights, float[] bias) {}

  private final List<Layer> layers;

  private MlpModel(List<Layer> layers) {
    this.layers = List.copyOf(layers);
  }

  /**
   * A model with the given layer widths (input first), Glorot-uniform weights and small biases.
   *
   * @param sizes at least two widths, for example {@code 256, 512, 512, 10}
   */
  public static MlpModel random(long seed, int... sizes) {
    if (sizes.length < 2) {
      throw new IllegalArgumentException("an MLP needs at least an input and an output width, got "
          + Arrays.toString(sizes));
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    Layer[] layers = new Layer[sizes.length - 1];
    for (int l = 0; l < layers.length; l++) {
      int in = sizes[l];
      int out = sizes[l + 1];
      if (in < 1 || out < 1) {
        throw new IllegalArgumentException("layer widths must be positive: " + Arrays.toString(sizes));
      }
      double limit = Math.sqrt(6.0 / (in + out));
      float[] w = new float[in * out];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) rnd.nextDouble(-limit, limit);
      }
      float[] b = new float[out];
      for (int i = 0; i < out; i++) {
        b[i] = (float) rnd.nextDouble(-0.05, 0.05);
      }
      layers[l] = new Layer(in, out, w, b);
    }
    return new MlpModel(Arrays.asList(layers));
  }

  public List<Layer> layers() {
    return layers;
  }

  public int inputSize() {
    return layers.get(0).in();
  }

  public int outputSize() {
    return layers.get(layers.size() - 1).out();
  }

  /** Bytes of weights and biases, as uploaded to the GPU. */
  public long parameterBytes() {
    long n = 0;
    for (Layer l : layers) {
      n += 4L * (l.weights().length + l.bias().length);
    }
    return n;
  }

  /** Class probabilities for {@code batch} rows of input, computed on the CPU. */
  public float[] forwardCpu(float[] x, int batch) {
    float[] a = x;
    for (int l = 0; l < layers.size(); l++) {
      Layer layer = layers.get(l);
      a = CpuReference.dense(a, layer.weights(), layer.bias(), batch, layer.in(), layer.out(),
          l < layers.size() - 1);
    }
    return CpuReference.softmax(a, batch, outputSize());
  }

  /** A batch of inputs in [-1, 1), seeded. */
  public float[] randomInput(long seed, int batch) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] x = new float[batch * inputSize()];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextDouble(-1, 1);
    }
    return x;
  }

  /** The largest absolute difference between two results of equal length. */
  public static float maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      return Float.POSITIVE_INFINITY;
    }
    float d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }
}
