package io.spillway.agent;

import java.io.IOException;
import java.nio.file.Path;

/** {@link CudaPrograms} for the tests of other packages. */
public final class CudaProgramsAccess {

  private CudaProgramsAccess() {
  }

  /** The program built from {@code name}.cu; skips the test where nvcc is missing. */
  public static Path build(String name, String... flags) throws IOException, InterruptedException {
    return CudaPrograms.build(name, flags);
  }

  /** The folder of the built shim. */
  public static Path shim() {
    return CudaPrograms.SHIM;
  }
}
