package io.spillway.bench;

import io.spillway.workload.MlpModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The MLP as the host driver ran it before it ran PTX: the Java reimplementations of the library's
 * {@code dense} and {@code softmax} kernels over bounds-checked float views of direct buffers, one
 * thread, element by element. Kept only as the executor's baseline in {@link PtxBench}.
 */
final class RetiredJavaKernels {

  private final MlpModel model;
  private final List<FloatBuffer> weights = new ArrayList<>();
  private final List<FloatBuffer> biases = new ArrayList<>();
  private final List<FloatBuffer> activations = new ArrayList<>();
  private final FloatBuffer probabilities;

  RetiredJavaKernels(MlpModel model, int maxBatch) {
    this.model = model;
    activations.add(direct(maxBatch * model.inputSize()));
    for (MlpModel.Layer l : model.layers()) {
      FloatBuffer w = direct(l.weights().length);
      w.put(0, l.weights());
      FloatBuffer b = direct(l.bias().length);
      b.put(0, l.bias());
      weights.add(w);
      biases.add(b);
      activations.add(direct(maxBatch * l.out()));
    }
    probabilities = direct(maxBatch * model.outputSize());
  }

  private static FloatBuffer direct(int floats) {
    return ByteBuffer.allocateDirect(4 * floats).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
  }

  float[] infer(float[] x, int batch) {
    activations.get(0).put(0, x);
    List<MlpModel.Layer> layers = model.layers();
    for (int i = 0; i < layers.size(); i++) {
      MlpModel.Layer l = layers.get(i);
      dense(activations.get(i), weights.get(i), biases.get(i), activations.get(i + 1), batch, l.in(),
          l.out(), i < layers.size() - 1);
    }
    softmax(activations.get(layers.size()), probabilities, batch, model.outputSize());
    float[] y = new float[batch * model.outputSize()];
    probabilities.get(0, y);
    return y;
  }

  // y[row][col] = bias[col] + sum_k x[row][k] * w[k][col], then ReLU
  private static void dense(FloatBuffer x, FloatBuffer w, FloatBuffer bias, FloatBuffer y, int rows,
      int in, int out, boolean relu) {
    for (int row = 0; row < rows; row++) {
      int xr = row * in;
      for (int col = 0; col < out; col++) {
        float acc = bias.get(col);
        for (int k = 0; k < in; k++) {
          acc += x.get(xr + k) * w.get(k * out + col);
        }
        y.put(row * out + col, relu && acc < 0f ? 0f : acc);
      }
    }
  }

  private static void softmax(FloatBuffer x, FloatBuffer y, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      int base = r * cols;
      float max = Float.NEGATIVE_INFINITY;
      for (int c = 0; c < cols; c++) {
        max = Math.max(max, x.get(base + c));
      }
      float sum = 0f;
      for (int c = 0; c < cols; c++) {
        float e = (float) Math.exp(x.get(base + c) - max);
        y.put(base + c, e);
        sum += e;
      }
      float inv = 1f / sum;
      for (int c = 0; c < cols; c++) {
        y.put(base + c, y.get(base + c) * inv);
      }
    }
  }
}
