package io.spillway.node.driver;

import java.lang.System.Logger.Level;
import java.util.function.Supplier;

/** Chooses a node's {@link GpuDriver} from its configured mode. */
public final class GpuDrivers {

  private static final System.Logger LOG = System.getLogger(GpuDrivers.class.getName());

  private GpuDrivers() {}

  /**
   * The driver for {@code mode}, logging which one was chosen and why:
   * <ul>
   *   <li>{@code "auto"}: JCuda when {@link JCudaGpuDriver#isAvailable()} and it initialises, else the
   *       host fallback;
   *   <li>{@code "jcuda"}: JCuda, or {@link IllegalStateException} saying why it is unavailable;
   *   <li>{@code "host"}: the host fallback.
   * </ul>
   * {@code hostFallback} is called only when the host driver is chosen.
   *
   * @throws IllegalArgumentException for any other mode
   */
  public static GpuDriver select(String mode, Supplier<HostGpuDriver> hostFallback) {
    switch (mode) {
      case "host":
        LOG.log(Level.INFO, "GPU driver: host (mode host)");
        return hostFallback.get();
      case "jcuda":
        if (!JCudaGpuDriver.isAvailable()) {
          throw new IllegalStateException("GPU driver mode jcuda: JCuda is unavailable: "
              + JCudaGpuDriver.unavailableReason());
        }
        try {
          GpuDriver driver = new JCudaGpuDriver();
          LOG.log(Level.INFO, "GPU driver: jcuda (mode jcuda), devices {0}", driver.devices());
          return driver;
        } catch (DriverException e) {
          throw new IllegalStateException("GPU driver mode jcuda: " + e.getMessage(), e);
        }
      case "auto":
        if (!JCudaGpuDriver.isAvailable()) {
          LOG.log(Level.INFO, "GPU driver: host (mode auto; JCuda unavailable: {0})",
              JCudaGpuDriver.unavailableReason());
          return hostFallback.get();
        }
        try {
          GpuDriver driver = new JCudaGpuDriver();
          LOG.log(Level.INFO, "GPU driver: jcuda (mode auto), devices {0}", driver.devices());
          return driver;
        } catch (DriverException | LinkageError e) {
          LOG.log(Level.WARNING, "GPU driver: host (mode auto; JCuda probed available but failed to"
              + " start: " + e.getMessage() + ")", e);
          return hostFallback.get();
        }
      default:
        throw new IllegalArgumentException("GPU driver mode '" + mode
            + "' is not one of: auto, jcuda, host");
    }
  }
}
