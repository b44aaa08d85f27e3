package io.spillway.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.server.GpuNodeServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The SDK against a real node over gRPC on loopback, running the MLP workload. */
class MlpServiceTest {

  private GpuNodeServer server;
  private SpillwayClient client;

  @BeforeEach
  void start() throws Exception {
    server = new GpuNodeServer(new GpuNode(NodeOptions.defaults("node-w"),
        HostGpuDriver.withCards(2, "V100", 256L << 20)), "127.0.0.1", 0).start();
    client = SpillwayClient.connect("127.0.0.1:" + server.port());
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  @Test
  void inferenceMatchesTheCpuReference() {
    MlpModel model = MlpModel.random(42, 64, 128, 128, 10);
    try (GpuSession gpu = client.open(SliceRequest.builder().tenant("acme").memoryBytes(16 << 20).build())) {
      MlpService service = new MlpService(gpu, model, 32);
      for (int request = 0; request < 5; request++) {
        int batch = 1 + request * 7;
        float[] x = model.randomInput(request, batch);
        float[] gpuResult = service.infer(x, batch);
        float[] cpuResult = model.forwardCpu(x, batch);
        assertEquals(batch * 10, gpuResult.length);
        assertTrue(MlpModel.maxAbsDiff(gpuResult, cpuResult) < 1e-5,
            "request " + request + " differs by " + MlpModel.maxAbsDiff(gpuResult, cpuResult));
      }
    }
    assertEquals(0, server.node().sessions().size(), "closing the session releases it on the node");
  }

  @Test
  void pipelinedErrorSurfacesAtTheNextSynchronizeAndTheSessionGoesOn() {
    try (GpuSession gpu = client.open(SliceRequest.builder().tenant("acme").memoryBytes(1 << 20).build())) {
      var small = gpu.alloc(64);
      var module = gpu.loadModule(io.spillway.kernels.SpillwayKernels.ptx(), "kernels");
      // The SDK cannot know the module's kernels: the node refuses it, reported at the next sync.
      gpu.launch(module, "no_such_kernel", io.spillway.client.Dim3.of(1), io.spillway.client.Dim3.of(1),
          io.spillway.client.KernelArg.ptr(small));
      SpillwayException e = assertThrows(SpillwayException.class, gpu::synchronize);
      assertEquals(Status.Code.NOT_FOUND, e.code());
      assertTrue(e.getMessage().contains("has no kernel 'no_such_kernel'"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> gpu.write(small, 32, new byte[64]),
          "the SDK checks ranges of its own buffers before sending");
      gpu.write(small, 0, new byte[] {9, 8, 7});
      assertEquals(8, gpu.read(small, 1, 2)[0]);
    }
  }

  @Test
  void openBeyondTheNodeIsResourceExhausted() {
    SpillwayException e = assertThrows(SpillwayException.class,
        () -> client.open(SliceRequest.builder().tenant("acme").memoryBytes(1L << 30).build()));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
  }
}
