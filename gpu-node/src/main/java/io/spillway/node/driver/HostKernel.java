package io.spillway.node.driver;

import java.util.List;

/**
 * A kernel of the project's library, run in Java by {@link HostGpuDriver}.
 *
 * <p>Contract: process exactly the elements the CUDA kernel would for the same arguments and launch
 * shape (its size guards, and the threads the grid provides), reading and writing device memory only
 * through {@link HostMemory#floats}, so that every out-of-bounds access faults. Arguments have been
 * checked against the kernel's declared parameter types before {@code run} is called.
 */
@FunctionalInterface
interface HostKernel {

  void run(LaunchShape shape, List<KernelArgument> args, HostMemory memory);

  /** The launch configuration, for kernels that bound their work by the threads launched. */
  record LaunchShape(DriverContext.Dim3 grid, DriverContext.Dim3 block, int sharedMemoryBytes) {

    /** Threads along x: {@code gridDim.x * blockDim.x}. */
    long threadsX() {
      return (long) grid.x() * block.x();
    }

    /** Threads along y: {@code gridDim.y * blockDim.y}. */
    long threadsY() {
      return (long) grid.y() * block.y();
    }
  }
}
