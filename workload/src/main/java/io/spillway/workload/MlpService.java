package io.spillway.workload;

import io.spillway.client.DeviceBuffer;
import io.spillway.client.Dim3;
import io.spillway.client.GpuSession;
import io.spillway.client.KernelArg;
import io.spillway.client.Module;
import io.spillway.kernels.SpillwayKernels;
import java.util.ArrayList;
import java.util.List;

/**
 * An inference service on one GPU session: the model's weights are uploaded once, as persistent
 * buffers, and each request uploads its batch, runs the layers and downloads the probabilities. A
 * request is one round trip: every op before the final read is pipelined into the same frame.
 *
 * <p>Not thread-safe: one service per session, used by one thread at a time.
 */
public final class MlpService {

  private static final int BLOCK = 16;

  private final GpuSession gpu;
  private final MlpModel model;
  private final int maxBatch;
  private final Module module;
  private final List<DeviceBuffer> weights = new ArrayList<>();
  private final List<DeviceBuffer> biases = new ArrayList<>();
  private final List<DeviceBuffer> activations = new ArrayList<>();
  private final DeviceBuffer probabilities;

  /** Loads the kernels, uploads the weights and allocates activations for up to {@code maxBatch} rows. */
  public MlpService(GpuSession gpu, MlpModel model, int maxBatch) {
    this.gpu = gpu;
    this.model = model;
    this.maxBatch = maxBatch;
    this.module = gpu.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
    activations.add(gpu.alloc(4L * maxBatch * model.inputSize()));
    for (MlpModel.Layer layer : model.layers()) {
      DeviceBuffer w = gpu.allocPersistent(4L * layer.weights().length);
      DeviceBuffer b = gpu.allocPersistent(4L * layer.bias().length);
      gpu.upload(w, layer.weights());
      gpu.upload(b, layer.bias());
      weights.add(w);
      biases.add(b);
      activations.add(gpu.alloc(4L * maxBatch * layer.out()));
    }
    probabilities = gpu.alloc(4L * maxBatch * model.outputSize());
    gpu.synchronize();
  }

  public MlpModel model() {
    return model;
  }

  /** Class probabilities for {@code batch} rows of input ({@code batch * inputSize} floats). */
  public float[] infer(float[] input, int batch) {
    if (batch < 1 || batch > maxBatch || input.length != batch * model.inputSize()) {
      throw new IllegalArgumentException("batch " + batch + " with " + input.length
          + " inputs: expected 1.." + maxBatch + " rows of " + model.inputSize());
    }
    gpu.upload(activations.get(0), input);
    List<MlpModel.Layer> layers = model.layers();
    for (int l = 0; l < layers.size(); l++) {
      MlpModel.Layer layer = layers.get(l);
      gpu.launch(module, SpillwayKernels.DENSE,
          Dim3.of((layer.out() + BLOCK - 1) / BLOCK, (batch + BLOCK - 1) / BLOCK, 1),
          Dim3.of(BLOCK, BLOCK, 1),
          KernelArg.in(activations.get(l)), KernelArg.in(weights.get(l)), KernelArg.in(biases.get(l)),
          KernelArg.out(activations.get(l + 1)), KernelArg.i32(batch), KernelArg.i32(layer.in()),
          KernelArg.i32(layer.out()), KernelArg.i32(l < layers.size() - 1 ? 1 : 0));
    }
    gpu.launch(module, SpillwayKernels.SOFTMAX, Dim3.of((batch + 127) / 128), Dim3.of(128),
        KernelArg.in(activations.get(layers.size())), KernelArg.out(probabilities),
        KernelArg.i32(batch), KernelArg.i32(model.outputSize()));
    return gpu.downloadFloats(probabilities, batch * model.outputSize());
  }
}
