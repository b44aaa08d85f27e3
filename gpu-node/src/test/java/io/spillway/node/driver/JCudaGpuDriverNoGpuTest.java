package io.spillway.node.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.spillway.node.driver.DriverException.Kind;
import jcuda.driver.CUresult;
import org.junit.jupiter.api.Test;

/** What runs everywhere: the probe, driver selection, and the pure parts of the JCuda driver. */
class JCudaGpuDriverNoGpuTest {

  @Test
  void modelLabelDropsVendorAndFormFactor() {
    assertEquals("H200", JCudaGpuDriver.modelLabel("NVIDIA H200"));
    assertEquals("V100", JCudaGpuDriver.modelLabel("Tesla V100-SXM2-16GB"));
    assertEquals("A100", JCudaGpuDriver.modelLabel("NVIDIA A100-SXM4-80GB"));
    assertEquals("H100", JCudaGpuDriver.modelLabel("NVIDIA H100 80GB HBM3"));
    assertEquals("RTX 4090", JCudaGpuDriver.modelLabel("NVIDIA GeForce RTX 4090"));
    assertEquals("P40", JCudaGpuDriver.modelLabel("Tesla P40"));
  }

  @Test
  void cudaResultsMapToKinds() {
    assertEquals(Kind.OUT_OF_MEMORY, JCudaGpuDriver.kindOf(CUresult.CUDA_ERROR_OUT_OF_MEMORY));
    assertEquals(Kind.KERNEL_FAULT, JCudaGpuDriver.kindOf(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS));
    assertEquals(Kind.KERNEL_FAULT, JCudaGpuDriver.kindOf(CUresult.CUDA_ERROR_INVALID_PC));
    assertEquals(Kind.KERNEL_FAULT, JCudaGpuDriver.kindOf(CUresult.CUDA_ERROR_MISALIGNED_ADDRESS));
    assertEquals(Kind.INVALID, JCudaGpuDriver.kindOf(CUresult.CUDA_ERROR_INVALID_PTX));
    assertEquals(Kind.INVALID, JCudaGpuDriver.kindOf(CUresult.CUDA_ERROR_NOT_FOUND));
    assertEquals(Kind.DEVICE, JCudaGpuDriver.kindOf(CUresult.CUDA_ERROR_ECC_UNCORRECTABLE));
    DriverException e = assertThrows(DriverException.class,
        () -> JCudaGpuDriver.check(CUresult.CUDA_ERROR_INVALID_VALUE, "cuMemAlloc of 0 bytes"));
    assertEquals("cuMemAlloc of 0 bytes failed: CUDA_ERROR_INVALID_VALUE", e.getMessage());
  }

  @Test
  void withoutCudaTheProbeSaysWhyAndAutoFallsBackToHost() {
    assumeFalse(JCudaGpuDriver.isAvailable(), "CUDA is present here");
    assertNotNull(JCudaGpuDriver.unavailableReason());
    HostGpuDriver host = HostGpuDriver.withCards(1, "T4", 1 << 20);
    try (GpuDriver chosen = GpuDrivers.select("auto", () -> host)) {
      assertSame(host, chosen);
    }
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> GpuDrivers.select("jcuda", () -> host));
    assertTrue(e.getMessage().startsWith("GPU driver mode jcuda: JCuda is unavailable: "),
        e.getMessage());
  }

  @Test
  void selectHonoursHostAndRejectsUnknownModes() {
    HostGpuDriver host = HostGpuDriver.withCards(1, "T4", 1 << 20);
    try (GpuDriver chosen = GpuDrivers.select("host", () -> host)) {
      assertSame(host, chosen);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GpuDrivers.select("cuda", () -> host));
    assertEquals("GPU driver mode 'cuda' is not one of: auto, jcuda, host", e.getMessage());
  }
}
