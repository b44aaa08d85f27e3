package io.spillway.ptx.exec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs decoded kernels. A launch's blocks are handed out one at a time to the calling thread and to
 * up to {@code parallelism - 1} helpers on {@code workers}; each block runs start to finish on one
 * thread, its warps interleaved at barriers.
 *
 * <p>Warps execute in lock-step: each instruction runs for every active lane before the next one, so
 * {@code shfl.sync}, {@code vote.sync} and {@code activemask} see the whole warp. Divergence is handled
 * by per-lane program counters: the lanes at the lowest pc run together, and lanes that reach a pc
 * where others wait join them (nvcc lays out reconvergence points after both sides of a branch, so
 * lanes meet again where the source code's branches join). A warp-synchronous instruction whose member
 * mask names a live lane that is elsewhere faults rather than computing with a stale register.
 *
 * <p>Memory safety: global and constant accesses go through {@link GlobalMemory#find}, shared and
 * local accesses are checked against the block's and thread's sizes; every access must be naturally
 * aligned. A violation, or running out of the launch's instruction budget, throws {@link KernelFault}
 * from {@link #launch}; blocks still running on other threads stop at their next budget check.
 */
public final class Executor {

  private final java.util.concurrent.Executor workers;
  private final int parallelism;

  /** {@code parallelism} >= 1 threads per launch at most, the caller included. */
  public Executor(java.util.concurrent.Executor workers, int parallelism) {
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism must be >= 1, got " + parallelism);
    }
    this.workers = workers;
    this.parallelism = parallelism;
  }

  /** Runs everything on the calling thread. */
  public static Executor serial() {
    return new Executor(Runnable::run, 1);
  }

  /** What one launch did. */
  public record Stats(long warpInstructions, long threadInstructions) {}

  /**
   * Runs {@code kernel} on a grid of blocks to completion.
   *
   * @param params the parameter buffer, laid out as the kernel's {@code .param} list; read only
   * @param budget the most warp-instructions the launch may execute in all
   * @throws KernelFault when a thread faults or the budget runs out
   */
  public Stats launch(Kernel kernel, int gx, int gy, int gz, int bx, int by, int bz,
      int dynamicSharedBytes, ByteBuffer params, GlobalMemory memory, long budget) {
    return launch(kernel, gx, gy, gz, bx, by, bz, dynamicSharedBytes, params, memory, budget, new Stop());
  }

  /**
   * A way to stop a running launch from another thread (a deadline passed, the client went away): every
   * thread running one of its blocks throws {@link KernelFault} with the reason at its next budget
   * check, a few thousand warp-instructions later at most.
   */
  public static final class Stop {
    private volatile String reason;

    /** Stops the launch (and any later launch given this stop); the first reason is kept. */
    public void stop(String why) {
      if (reason == null) {
        reason = why;
      }
    }

    public String reason() {
      return reason;
    }
  }

  /** As {@link #launch(Kernel, int, int, int, int, int, int, int, ByteBuffer, GlobalMemory, long)}, stoppable. */
  public Stats launch(Kernel kernel, int gx, int gy, int gz, int bx, int by, int bz,
      int dynamicSharedBytes, ByteBuffer params, GlobalMemory memory, long budget, Stop stop) {
    long blocks = (long) gx * gy * gz;
    int threads = bx * by * bz;
    if (blocks < 1 || threads < 1 || threads > 1024) {
      throw new IllegalArgumentException("grid " + gx + "x" + gy + "x" + gz + " block " + bx + "x" + by
          + "x" + bz + ": need >= 1 block and 1 to 1024 threads per block");
    }
    if (params.remaining() < kernel.paramBytes) {
      throw new IllegalArgumentException("kernel " + kernel.name + " takes " + kernel.paramBytes
          + " parameter bytes, got " + params.remaining());
    }
    ByteBuffer p = params.slice().order(ByteOrder.LITTLE_ENDIAN);
    Launch launch = new Launch(kernel, new int[] {gx, gy, gz}, new int[] {bx, by, bz},
        Math.max(kernel.sharedStatic, kernel.dynamicSharedOffset + dynamicSharedBytes), p, memory,
        budget, blocks, stop);
    int helpers = (int) Math.min(parallelism - 1, blocks - 1);
    for (int i = 0; i < helpers; i++) {
      try {
        workers.execute(launch::work);
      } catch (RuntimeException e) {
        break;
      }
    }
    launch.work();
    launch.awaitHelpers();
    if (launch.fault != null) {
      throw launch.fault;
    }
    return new Stats(launch.warpInstructions.get(), launch.threadInstructions.get());
  }

  /** The state one launch shares between the threads running its blocks. */
  static final class Launch {
    final Kernel kernel;
    final int[] grid;
    final int[] block;
    final int sharedBytes;
    final ByteBuffer params;
    final GlobalMemory memory;
    final long budget;
    final long blocks;
    final Stop stop;
    final AtomicLong nextBlock = new AtomicLong();
    final AtomicLong remaining;
    final AtomicLong warpInstructions = new AtomicLong();
    final AtomicLong threadInstructions = new AtomicLong();
    private final Object lock = new Object();
    private int running;
    volatile KernelFault fault;

    Launch(Kernel kernel, int[] grid, int[] block, int sharedBytes, ByteBuffer params,
        GlobalMemory memory, long budget, long blocks, Stop stop) {
      this.stop = stop;
      this.kernel = kernel;
      this.grid = grid;
      this.block = block;
      this.sharedBytes = sharedBytes;
      this.params = params;
      this.memory = memory;
      this.budget = budget;
      this.blocks = blocks;
      this.remaining = new AtomicLong(budget);
    }

    void work() {
      synchronized (lock) {
        if (nextBlock.get() >= blocks || fault != null) {
          return;
        }
        running++;
      }
      try {
        BlockRunner runner = null;
        long b;
        while (fault == null && (b = nextBlock.getAndIncrement()) < blocks) {
          if (runner == null) {
            runner = new BlockRunner(this);
          }
          runner.run(b);
        }
        if (runner != null) {
          runner.flush();
        }
      } catch (KernelFault f) {
        fail(f);
      } catch (Aborted a) {
        // another thread faulted
      } catch (RuntimeException | StackOverflowError e) {
        fail(new KernelFault("kernel " + kernel.name + ": executor error: " + e));
      } finally {
        synchronized (lock) {
          running--;
          lock.notifyAll();
        }
      }
    }

    private void fail(KernelFault f) {
      synchronized (lock) {
        if (fault == null) {
          fault = f;
        }
      }
    }

    void awaitHelpers() {
      synchronized (lock) {
        boolean interrupted = false;
        while (running > 0) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** Thrown inside a block runner when another thread's fault stopped the launch. */
  static final class Aborted extends RuntimeException {
    Aborted() {
      super(null, null, false, false);
    }
  }
}
