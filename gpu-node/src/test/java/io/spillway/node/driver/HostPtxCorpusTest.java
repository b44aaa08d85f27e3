package io.spillway.node.driver;

/** The corpus on the host driver's executor. */
class HostPtxCorpusTest extends PtxCorpusContract {

  @Override
  protected GpuDriver newDriver() {
    return HostGpuDriver.withCards(1, "T4", 64L << 20);
  }
}
