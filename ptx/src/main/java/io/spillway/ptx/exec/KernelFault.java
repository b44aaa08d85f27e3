package io.spillway.ptx.exec;

/**
 * A running kernel did something a GPU would fault on (an access outside its memory, a misaligned
 * access), exhausted its instruction budget, or reached an instruction state the executor cannot run
 * faithfully (a warp-synchronous operation whose member lanes diverged). The launch stops.
 */
public final class KernelFault extends RuntimeException {

  public KernelFault(String message) {
    super(message, null, false, false);
  }
}
