package io.spillway.node.driver;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The contract on real GPUs. Where {@link JCudaGpuDriver#isAvailable()} is false (CI, machines without
 * libcuda) every case is reported skipped.
 */
class JCudaGpuDriverTest extends GpuDriverContract {

  @Override
  protected GpuDriver newDriver() throws Exception {
    assumeTrue(JCudaGpuDriver.isAvailable(), () -> "no CUDA: " + JCudaGpuDriver.unavailableReason());
    return new JCudaGpuDriver();
  }

  @Override
  protected boolean devicesHaveExactMemory() {
    return false;
  }
}
