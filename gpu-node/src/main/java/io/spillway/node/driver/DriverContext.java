package io.spillway.node.driver;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A session's context on one device. Device memory is named by device addresses that this context
 * returned from {@link #allocate}; callers check bounds before calling, so implementations may assume
 * that every address range passed in lies inside one live allocation of this context.
 *
 * <p>Calls are made by one thread at a time. Operations complete in call order, as on one CUDA stream.
 * {@link #launch} may return before the kernel finishes; {@link #read} and {@link #synchronize} wait
 * for all earlier work.
 */
public interface DriverContext extends AutoCloseable {

  GpuDevice device();

  /**
   * Allocates {@code bytes} (> 0) of device memory, zeroed, and returns its device address. Zeroed
   * because memory one tenant freed may be handed to another, and because a gateway that rebuilds a
   * session on another GPU relies on never-written memory reading the same everywhere.
   */
  long allocate(long bytes) throws DriverException;

  void free(long address) throws DriverException;

  /** Copies {@code src.remaining()} bytes to the device at {@code address}; consumes {@code src}. */
  void write(long address, ByteBuffer src) throws DriverException;

  /** Copies {@code dst.remaining()} bytes from the device at {@code address} into {@code dst}. */
  void read(long address, ByteBuffer dst) throws DriverException;

  /** Sets {@code bytes} bytes at {@code address} to {@code value}. */
  void fill(long address, long bytes, byte value) throws DriverException;

  /**
   * Copies {@code bytes} between two ranges of this context's device memory. The session layer has
   * checked both ranges; they may overlap (memmove semantics).
   */
  void copy(long dstAddress, long srcAddress, long bytes) throws DriverException;

  /**
   * Sets {@code count} elements of {@code width} bytes (1, 2 or 4) from {@code address} to the low
   * {@code width} bytes of {@code value}, little-endian.
   */
  void memset(long address, int width, int value, long count) throws DriverException;

  /** Loads a PTX (or cubin) image; the returned module stays valid until this context closes. */
  LoadedModule loadModule(byte[] image, String name) throws DriverException;

  /**
   * Launches {@code function} of {@code module}. Pointer arguments are device addresses inside this
   * context's allocations; the session layer has checked them and the argument types.
   */
  void launch(LoadedModule module, String function, Dim3 grid, Dim3 block, int sharedMemoryBytes,
      List<KernelArgument> args) throws DriverException;

  /**
   * Launches {@code function} with a parameter buffer laid out as the kernel's {@code .param} list
   * declares ({@link KernelSignature#layout()}); reads {@code params} from its position to its limit and
   * leaves it as it was. Device pointers in it are already this context's device addresses; on the
   * host driver a pointer outside this context's memory faults the kernel when it is dereferenced.
   */
  void launchRaw(LoadedModule module, String function, Dim3 grid, Dim3 block, int sharedMemoryBytes,
      ByteBuffer params) throws DriverException;

  /** Waits until every earlier operation of this context has completed; reports kernel faults. */
  void synchronize() throws DriverException;

  /**
   * Unloads a module its session freed: its code and its variables' memory go back. Handles bound to its
   * variables must be forgotten by the caller. The host driver keeps nothing per module beyond its
   * parsed kernels, which go with the last reference.
   */
  default void unloadModule(LoadedModule module) throws DriverException {}

  /**
   * Device memory the context takes itself, beyond what it allocates and loads (the driver's state for
   * it, its local-memory and heap reservations), as the driver saw it when the context was created. The
   * node charges it to the session's slice on this device. 0 where a context takes none (the host driver).
   */
  default long overheadBytes() {
    return 0;
  }

  /** Frees everything this context holds. Idempotent. */
  @Override
  void close();

  /**
   * Stops what the context is running now, from any thread and without waiting for it: a kernel past its
   * deadline, a session whose client went away. The context is lost afterwards (every later call fails
   * {@code KERNEL_FAULT}, naming {@code why}); {@link #close} must still be called. The host driver stops
   * its executor within a few thousand warp-instructions; JCuda destroys the CUDA context, the one way
   * CUDA offers to end a running kernel.
   */
  void abort(String why);

  /** A grid or block shape. */
  record Dim3(int x, int y, int z) {
    public Dim3 {
      if (x < 1 || y < 1 || z < 1) {
        throw new IllegalArgumentException("dimensions must be >= 1, got " + x + "x" + y + "x" + z);
      }
    }

    public long volume() {
      return (long) x * y * z;
    }
  }
}
