package io.spillway.node.driver;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The corpus on a real GPU, against the same references (so the same bits) as the host executor.
 * Skipped where {@link JCudaGpuDriver#isAvailable()} is false.
 */
class JCudaPtxCorpusTest extends PtxCorpusContract {

  @Override
  protected GpuDriver newDriver() throws Exception {
    assumeTrue(JCudaGpuDriver.isAvailable(), () -> "no CUDA: " + JCudaGpuDriver.unavailableReason());
    return new JCudaGpuDriver();
  }
}
