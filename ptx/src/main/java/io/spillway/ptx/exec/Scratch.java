package io.spillway.ptx.exec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Per-thread buffers the block runners reuse from launch to launch: register files and the direct
 * buffers behind shared and local memory. A thread runs one block at a time, so one set per thread
 * suffices; they only grow.
 */
final class Scratch {

  private static final ThreadLocal<Scratch> CURRENT = ThreadLocal.withInitial(Scratch::new);
  private static final byte[] ZEROS = new byte[4096];

  private long[][] registers = new long[0][];
  private ByteBuffer shared = ByteBuffer.allocateDirect(0);
  private ByteBuffer local = ByteBuffer.allocateDirect(0);

  static Scratch get() {
    return CURRENT.get();
  }

  /** {@code warps} register files of at least {@code longs} each; contents are stale. */
  long[][] registers(int warps, int longs) {
    if (registers.length < warps) {
      long[][] grown = new long[warps][];
      System.arraycopy(registers, 0, grown, 0, registers.length);
      registers = grown;
    }
    for (int w = 0; w < warps; w++) {
      if (registers[w] == null || registers[w].length < longs) {
        registers[w] = new long[longs];
      }
    }
    return registers;
  }

  ByteBuffer shared(int bytes) {
    if (shared.capacity() < bytes) {
      shared = ByteBuffer.allocateDirect(Math.max(bytes, 2 * shared.capacity()));
    }
    return shared.duplicate().clear().limit(bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  ByteBuffer local(int bytes) {
    if (local.capacity() < bytes) {
      local = ByteBuffer.allocateDirect(Math.max(bytes, 2 * local.capacity()));
    }
    return local.duplicate().clear().limit(bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  static void zero(ByteBuffer b) {
    for (int i = 0; i < b.capacity(); i += ZEROS.length) {
      b.put(i, ZEROS, 0, Math.min(ZEROS.length, b.capacity() - i));
    }
  }
}
