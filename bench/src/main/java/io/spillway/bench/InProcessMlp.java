package io.spillway.bench;

import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.driver.DriverContext;
import io.spillway.node.driver.DriverException;
import io.spillway.node.driver.KernelArgument;
import io.spillway.node.driver.LoadedModule;
import io.spillway.workload.MlpModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** The MLP of {@code MlpService} run straight on a driver context: the in-process baseline. */
final class InProcessMlp {
  private static final int BLOCK = 16;

  private final DriverContext ctx;
  private final MlpModel model;
  private final LoadedModule module;
  private final List<Long> weights = new ArrayList<>();
  private final List<Long> biases = new ArrayList<>();
  private final List<Long> activations = new ArrayList<>();
  private final long probabilities;

  InProcessMlp(DriverContext ctx, MlpModel model, int maxBatch) throws DriverException {
    this.ctx = ctx;
    this.model = model;
    this.module = ctx.loadModule(SpillwayKernels.ptx(), SpillwayKernels.MODULE_NAME);
    activations.add(ctx.allocate(4L * maxBatch * model.inputSize()));
    for (MlpModel.Layer l : model.layers()) {
      long w = ctx.allocate(4L * l.weights().length);
      long b = ctx.allocate(4L * l.bias().length);
      ctx.write(w, floats(l.weights()));
      ctx.write(b, floats(l.bias()));
      weights.add(w);
      biases.add(b);
      activations.add(ctx.allocate(4L * maxBatch * l.out()));
    }
    probabilities = ctx.allocate(4L * maxBatch * model.outputSize());
  }

  private static ByteBuffer floats(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return b;
  }

  float[] infer(float[] x, int batch) throws DriverException {
    ctx.write(activations.get(0), floats(x));
    List<MlpModel.Layer> layers = model.layers();
    for (int i = 0; i < layers.size(); i++) {
      MlpModel.Layer l = layers.get(i);
      ctx.launch(module, SpillwayKernels.DENSE,
          new DriverContext.Dim3((l.out() + BLOCK - 1) / BLOCK, (batch + BLOCK - 1) / BLOCK, 1),
          new DriverContext.Dim3(BLOCK, BLOCK, 1), 0,
          List.of(new KernelArgument.Pointer(activations.get(i)), new KernelArgument.Pointer(weights.get(i)),
              new KernelArgument.Pointer(biases.get(i)), new KernelArgument.Pointer(activations.get(i + 1)),
              new KernelArgument.I32(batch), new KernelArgument.I32(l.in()), new KernelArgument.I32(l.out()),
              new KernelArgument.I32(i < layers.size() - 1 ? 1 : 0)));
    }
    ctx.launch(module, SpillwayKernels.SOFTMAX, new DriverContext.Dim3((batch + 127) / 128, 1, 1),
        new DriverContext.Dim3(128, 1, 1), 0,
        List.of(new KernelArgument.Pointer(activations.get(layers.size())),
            new KernelArgument.Pointer(probabilities), new KernelArgument.I32(batch),
            new KernelArgument.I32(model.outputSize())));
    ByteBuffer out = ByteBuffer.allocate(4 * batch * model.outputSize()).order(ByteOrder.LITTLE_ENDIAN);
    ctx.read(probabilities, out);
    out.flip();
    float[] y = new float[batch * model.outputSize()];
    out.asFloatBuffer().get(y);
    return y;
  }
}
