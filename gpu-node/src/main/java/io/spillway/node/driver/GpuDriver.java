package io.spillway.node.driver;

import java.util.List;

/**
 * Executes device work for a GPU node. One instance owns every GPU of the node.
 *
 * <p>Implementations: {@link HostGpuDriver} emulates devices in host memory and runs the project's
 * kernel library in Java (for machines without a GPU, and for CI); {@code JCudaGpuDriver} drives real
 * GPUs through the CUDA driver API. Both pass the same contract suite.
 *
 * <p>The driver knows nothing of sessions, handles or quotas: the node's session layer checks every
 * handle, byte range and quota before it calls a driver, and translates handles into device addresses.
 * Thread-safety: a driver and its contexts may be called from many threads, but the calls on one
 * {@link DriverContext} are made by one thread at a time (the session's).
 */
public interface GpuDriver extends AutoCloseable {

  /** A short name for logs and session info: {@code "host"} or {@code "jcuda"}. */
  String name();

  /** The node's GPUs, indexed from 0 in the order of this list. */
  List<GpuDevice> devices();

  /**
   * Creates an isolated context on one device: its own allocations and modules (on a real GPU, its
   * own CUDA context, so a faulting kernel poisons only this context).
   */
  DriverContext createContext(int deviceIndex) throws DriverException;

  @Override
  void close();
}
