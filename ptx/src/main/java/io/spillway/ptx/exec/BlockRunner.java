package io.spillway.ptx.exec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Runs blocks of one launch on one thread: the interpreter proper. Reused for every block the thread
 * takes, so register files and shared memory are allocated once per thread and launch.
 *
 * <p>Per warp: a register file of {@code slots * 32} longs (lane {@code l} of slot {@code s} at
 * {@code s * 32 + l}), the pc and mask of the lanes running together, and for the other lanes their
 * own pcs: waiting (live, at another pc), at the barrier, or done (exited, or beyond the block).
 */
final class BlockRunner {

  private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class,
      ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG = MethodHandles.byteBufferViewVarHandle(long[].class,
      ByteOrder.LITTLE_ENDIAN);
  private static final int FUEL_CHUNK = 1 << 14;

  private final Executor.Launch launch;
  private final Kernel k;
  private final Insn[] code;
  private final int threads;
  private final int warps;
  private final long[][] regs;
  private final int[] pcs;
  private final int[] actives;
  private final int[] waits;
  private final int[] bars;
  private final int[] dones;
  private final int[] absents;
  private final int[] minWaits;
  private final int[][] lanePcs;
  private final ByteBuffer shared;
  private final int sharedSize;
  private final ByteBuffer local;
  private final int localSize;
  private final ByteBuffer params;
  private final GlobalMemory memory;
  private final long[] scratch = new long[32];
  private final boolean[] scratchPred = new boolean[32];

  /** Per instruction, the segment its last global access hit: loads of x and w alternate. */
  private final GlobalMemory.Segment[] segCache;
  private long segBase = 1;
  private long segEnd = 0;
  private ByteBuffer segBuf;

  private int fuel;
  private long used;
  private long laneOps;

  BlockRunner(Executor.Launch launch) {
    this.launch = launch;
    this.k = launch.kernel;
    this.code = k.code;
    this.threads = launch.block[0] * launch.block[1] * launch.block[2];
    this.warps = (threads + 31) / 32;
    this.regs = Scratch.get().registers(warps, k.slots * 32);
    // cleared once per launch: a register file last held another launch's (another tenant's) values
    for (int w = 0; w < warps; w++) {
      Arrays.fill(regs[w], 0, k.slots * 32, 0L);
    }
    this.pcs = new int[warps];
    this.actives = new int[warps];
    this.waits = new int[warps];
    this.bars = new int[warps];
    this.dones = new int[warps];
    this.absents = new int[warps];
    this.minWaits = new int[warps];
    this.lanePcs = new int[warps][32];
    this.sharedSize = launch.sharedBytes;
    this.shared = Scratch.get().shared(Math.max(8, sharedSize));
    this.localSize = k.localBytes;
    this.local = Scratch.get().local(Math.max(8, localSize * warps * 32));
    this.params = launch.params;
    this.memory = launch.memory;
    this.segCache = new GlobalMemory.Segment[code.length];
  }

  /** Adds this runner's counts to the launch's. */
  void flush() {
    launch.warpInstructions.addAndGet(used - fuel);
    launch.threadInstructions.addAndGet(laneOps);
    used = fuel;
  }

  void run(long blockIndex) {
    int gx = launch.grid[0];
    int gy = launch.grid[1];
    int bx = launch.block[0];
    int by = launch.block[1];
    int cx = (int) (blockIndex % gx);
    int cy = (int) (blockIndex / gx % gy);
    int cz = (int) (blockIndex / ((long) gx * gy));
    if (sharedSize > 0) {
      Scratch.zero(shared);
    }
    for (int w = 0; w < warps; w++) {
      long[] r = regs[w];
      // between blocks of one launch registers keep their values (PTX reads none before writing
      // it); constants and special registers are set for every block
      for (int i = 0; i < k.constSlots.length; i++) {
        Arrays.fill(r, k.constSlots[i] << 5, (k.constSlots[i] << 5) + 32, k.constValues[i]);
      }
      int n = Math.min(32, threads - w * 32);
      int mask = n == 32 ? -1 : (1 << n) - 1;
      for (int i = 0; i < k.specialSlots.length; i++) {
        int base = k.specialSlots[i] << 5;
        int kind = k.specialKinds[i];
        for (int l = 0; l < 32; l++) {
          int t = w * 32 + l;
          r[base + l] = switch (kind) {
            case Kernel.TID_X -> t % bx;
            case Kernel.TID_Y -> t / bx % by;
            case Kernel.TID_Z -> t / (bx * by);
            case Kernel.NTID_X -> bx;
            case Kernel.NTID_Y -> by;
            case Kernel.NTID_Z -> launch.block[2];
            case Kernel.CTAID_X -> cx;
            case Kernel.CTAID_Y -> cy;
            case Kernel.CTAID_Z -> cz;
            case Kernel.NCTAID_X -> gx;
            case Kernel.NCTAID_Y -> gy;
            case Kernel.NCTAID_Z -> launch.grid[2];
            case Kernel.LANEID -> l;
            case Kernel.WARPID -> w;
            case Kernel.NWARPID -> warps;
            case Kernel.LANEMASK_EQ -> (1L << l) & 0xffffffffL;
            case Kernel.LANEMASK_LT -> ((1L << l) - 1) & 0xffffffffL;
            case Kernel.LANEMASK_LE -> ((2L << l) - 1) & 0xffffffffL;
            case Kernel.LANEMASK_GT -> ~((2L << l) - 1) & 0xffffffffL;
            case Kernel.LANEMASK_GE -> ~((1L << l) - 1) & 0xffffffffL;
            case Kernel.NSMID -> 1;
            default -> 0;
          };
        }
      }
      pcs[w] = 0;
      actives[w] = mask;
      waits[w] = 0;
      bars[w] = 0;
      dones[w] = ~mask;
      absents[w] = ~mask;
      minWaits[w] = Integer.MAX_VALUE;
    }
    if (localSize > 0) {
      Scratch.zero(local);
    }
    while (true) {
      boolean allDone = true;
      for (int w = 0; w < warps; w++) {
        if (dones[w] != -1 && (actives[w] != 0 || waits[w] != 0)) {
          runWarp(w);
        }
        if (dones[w] != -1) {
          allDone = false;
        }
      }
      if (allDone) {
        return;
      }
      // every live warp waits at the barrier (or is done): release them all
      for (int w = 0; w < warps; w++) {
        if (bars[w] != 0) {
          waits[w] |= bars[w];
          bars[w] = 0;
          reschedule(w);
        }
      }
    }
  }

  /** Picks the lowest-pc group among the warp's waiting lanes as its running group. */
  private void reschedule(int w) {
    int wait = waits[w];
    int[] lp = lanePcs[w];
    if (wait == 0) {
      actives[w] = 0;
      minWaits[w] = Integer.MAX_VALUE;
      return;
    }
    int min = Integer.MAX_VALUE;
    for (int m = wait; m != 0; m &= m - 1) {
      min = Math.min(min, lp[Integer.numberOfTrailingZeros(m)]);
    }
    int act = 0;
    int next = Integer.MAX_VALUE;
    for (int m = wait; m != 0; m &= m - 1) {
      int l = Integer.numberOfTrailingZeros(m);
      if (lp[l] == min) {
        act |= 1 << l;
      } else {
        next = Math.min(next, lp[l]);
      }
    }
    actives[w] = act;
    waits[w] = wait & ~act;
    minWaits[w] = next;
    pcs[w] = min;
  }

  /** Parks the running group at {@code pc} among the waiting lanes. */
  private void park(int w, int pc, int act) {
    int[] lp = lanePcs[w];
    for (int m = act; m != 0; m &= m - 1) {
      lp[Integer.numberOfTrailingZeros(m)] = pc;
    }
    waits[w] |= act;
  }

  private void refuel() {
    if (launch.fault != null) {
      throw new Executor.Aborted();
    }
    String stopped = launch.stop.reason();
    if (stopped != null) {
      throw new KernelFault("kernel " + k.name + " was stopped: " + stopped);
    }
    long got = launch.remaining.addAndGet(-FUEL_CHUNK);
    if (got + FUEL_CHUNK <= 0) {
      throw new KernelFault("kernel " + k.name + " ran past its instruction budget of "
          + launch.budget + " warp-instructions (does it ever finish?)");
    }
    fuel += FUEL_CHUNK;
    used += FUEL_CHUNK;
  }

  private KernelFault fault(Insn in, int lane, int w, String what) {
    int t = w * 32 + lane;
    return new KernelFault("kernel " + k.name + ": " + what + " at " + in.where() + ", thread ("
        + t % launch.block[0] + "," + t / launch.block[0] % launch.block[1] + ","
        + t / (launch.block[0] * launch.block[1]) + ")");
  }

  // ---- the interpreter

  private void runWarp(int w) {
    long[] R = regs[w];
    if (actives[w] == 0) {
      reschedule(w);
      if (actives[w] == 0) {
        return;
      }
    }
    int pc = pcs[w];
    int act = actives[w];
    final Insn[] code = this.code;
    while (true) {
      if (pc >= minWaits[w]) {
        if (pc == minWaits[w]) {
          int[] lp = lanePcs[w];
          int wait = waits[w];
          int join = 0;
          int next = Integer.MAX_VALUE;
          for (int m = wait; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            if (lp[l] == pc) {
              join |= 1 << l;
            } else {
              next = Math.min(next, lp[l]);
            }
          }
          act |= join;
          waits[w] = wait & ~join;
          minWaits[w] = next;
        } else {
          park(w, pc, act);
          reschedule(w);
          pc = pcs[w];
          act = actives[w];
          continue;
        }
      }
      Insn in = code[pc];
      int em = act;
      if (in.guard >= 0) {
        int g = in.guard;
        int bits = 0;
        for (int m = act; m != 0; m &= m - 1) {
          int l = Integer.numberOfTrailingZeros(m);
          if (R[g + l] != 0) {
            bits |= 1 << l;
          }
        }
        em = in.guardNegated ? act & ~bits : bits;
      }
      if (--fuel < 0) {
        refuel();
      }
      laneOps += Integer.bitCount(em);
      final int d = in.d;
      final int a = in.a;
      final int b = in.b;
      final int c = in.c;
      switch (in.op) {
        case Op.BRA: {
          if (em == act) {
            pc = in.target;
          } else if (em == 0) {
            pc++;
          } else {
            int[] lp = lanePcs[w];
            for (int m = act; m != 0; m &= m - 1) {
              int l = Integer.numberOfTrailingZeros(m);
              lp[l] = (em & (1 << l)) != 0 ? in.target : pc + 1;
            }
            waits[w] |= act;
            reschedule(w);
            pc = pcs[w];
            act = actives[w];
          }
          continue;
        }
        case Op.EXIT: {
          dones[w] |= em;
          act &= ~em;
          if (act == 0) {
            reschedule(w);
            if (actives[w] == 0) {
              return;
            }
            pc = pcs[w];
            act = actives[w];
            continue;
          }
          break;
        }
        case Op.EXIT + 1000:
          if (em != 0) {
            throw fault(in, Integer.numberOfTrailingZeros(em), w, "trap");
          }
          break;
        case Op.BAR: {
          if (em == 0) {
            break;
          }
          if (b >= 0) {
            long count = R[b + Integer.numberOfTrailingZeros(em)] & 0xffffffffL;
            if (count != 0 && count != ((threads + 31) & ~31) && count != threads) {
              throw fault(in, Integer.numberOfTrailingZeros(em), w, "bar.sync with a thread count ("
                  + count + ") other than the whole block's is not supported");
            }
          }
          int[] lp = lanePcs[w];
          for (int m = em; m != 0; m &= m - 1) {
            lp[Integer.numberOfTrailingZeros(m)] = pc + 1;
          }
          bars[w] |= em;
          act &= ~em;
          if (act == 0) {
            reschedule(w);
            if (actives[w] == 0) {
              return;
            }
            pc = pcs[w];
            act = actives[w];
            continue;
          }
          break;
        }
        case Op.MOV:
          if (em == -1) {
            System.arraycopy(R, a, R, d, 32);
            break;
          }
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            R[d + l] = R[a + l];
          }
          break;
        case Op.ADD:
          if (in.type == Type.S64 || in.type == Type.U64 || in.type == Type.B64) {
            if (em == -1) {
              for (int l = 0; l < 32; l++) {
                R[d + l] = R[a + l] + R[b + l];
              }
              break;
            }
            for (int m = em; m != 0; m &= m - 1) {
              int l = Integer.numberOfTrailingZeros(m);
              R[d + l] = R[a + l] + R[b + l];
            }
          } else if (em == -1) {
            for (int l = 0; l < 32; l++) {
              R[d + l] = (int) (R[a + l] + R[b + l]);
            }
          } else {
            for (int m = em; m != 0; m &= m - 1) {
              int l = Integer.numberOfTrailingZeros(m);
              R[d + l] = (int) (R[a + l] + R[b + l]);
            }
          }
          break;
        case Op.MUL_WIDE:
          if (in.type == Type.S32) {
            for (int m = em; m != 0; m &= m - 1) {
              int l = Integer.numberOfTrailingZeros(m);
              R[d + l] = (long) (int) R[a + l] * (int) R[b + l];
            }
          } else {
            generic(in, R, em);
          }
          break;
        case Op.MAD_LO:
          if (em == -1) {
            for (int l = 0; l < 32; l++) {
              R[d + l] = R[a + l] * R[b + l] + R[c + l];
            }
            break;
          }
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            R[d + l] = R[a + l] * R[b + l] + R[c + l];
          }
          break;
        case Op.MUL_LO:
          if (em == -1) {
            for (int l = 0; l < 32; l++) {
              R[d + l] = R[a + l] * R[b + l];
            }
            break;
          }
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            R[d + l] = R[a + l] * R[b + l];
          }
          break;
        case Op.FFMA:
          if (in.type == Type.F32 && in.aux == Op.RN && !in.ftz && !in.sat) {
            if (em == -1) {
              for (int l = 0; l < 32; l++) {
                R[d + l] = Float.floatToRawIntBits(Math.fma(Float.intBitsToFloat((int) R[a + l]),
                    Float.intBitsToFloat((int) R[b + l]), Float.intBitsToFloat((int) R[c + l])));
              }
              break;
            }
            for (int m = em; m != 0; m &= m - 1) {
              int l = Integer.numberOfTrailingZeros(m);
              R[d + l] = Float.floatToRawIntBits(Math.fma(Float.intBitsToFloat((int) R[a + l]),
                  Float.intBitsToFloat((int) R[b + l]), Float.intBitsToFloat((int) R[c + l])));
            }
          } else {
            generic(in, R, em);
          }
          break;
        case Op.SETP: {
          int t = in.type;
          int cmp = in.aux;
          int d2 = in.d2;
          int combine = in.combine;
          boolean negC = in.size == 1;
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            boolean r;
            if (t == Type.S32 && cmp <= Op.GE) {
              int x = (int) R[a + l];
              int y = (int) R[b + l];
              r = switch (cmp) {
                case Op.EQ -> x == y;
                case Op.NE -> x != y;
                case Op.LT -> x < y;
                case Op.LE -> x <= y;
                case Op.GT -> x > y;
                default -> x >= y;
              };
            } else {
              r = Alu.compare(cmp, t, R[a + l], R[b + l]);
            }
            boolean q = !r;
            if (combine != 0) {
              boolean cp = (R[c + l] != 0) ^ negC;
              switch (combine) {
                case 1 -> { r = r && cp; q = q && cp; }
                case 2 -> { r = r || cp; q = q || cp; }
                default -> { r = r ^ cp; q = q ^ cp; }
              }
            }
            R[d + l] = r ? 1 : 0;
            if (d2 >= 0) {
              R[d2 + l] = q ? 1 : 0;
            }
          }
          break;
        }
        case Op.SELP:
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            R[d + l] = R[c + l] != 0 ? R[a + l] : R[b + l];
          }
          break;
        case Op.LD:
          load(in, R, em, w, pc);
          break;
        case Op.ST:
          store(in, R, em, w, pc);
          break;
        case Op.ATOM:
          atom(in, R, em, w);
          break;
        case Op.CVTA: {
          long window = in.space == Op.SHARED ? Decoder.SHARED_WINDOW : Decoder.LOCAL_WINDOW;
          boolean to = in.aux == 1;
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            long v = R[a + l];
            R[d + l] = to ? (v - window) & (in.size == 4 ? 0xffffffffL : -1L)
                : (v & 0xffffffffL) + window;
          }
          break;
        }
        case Op.PACK: {
          int[] vec = in.vec;
          int bits = in.size;
          long mask = bits == 64 ? -1L : (1L << bits) - 1;
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            long v = 0;
            for (int i = 0; i < vec.length; i++) {
              v |= (R[vec[i] + l] & mask) << (bits * i);
            }
            R[d + l] = v;
          }
          break;
        }
        case Op.UNPACK: {
          int[] vec = in.vec;
          int bits = in.size;
          long mask = bits == 64 ? -1L : (1L << bits) - 1;
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            long v = R[a + l];
            for (int i = 0; i < vec.length; i++) {
              R[vec[i] + l] = (v >>> (bits * i)) & mask;
            }
          }
          break;
        }
        case Op.CLOCK: {
          long now = System.nanoTime();
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            R[d + l] = in.aux == 0 ? (int) now : now;
          }
          break;
        }
        case Op.SHFL:
          shfl(in, R, em, w);
          break;
        case Op.VOTE:
          vote(in, R, em, w);
          break;
        case Op.ACTIVEMASK:
          for (int m = em; m != 0; m &= m - 1) {
            int l = Integer.numberOfTrailingZeros(m);
            R[d + l] = em & 0xffffffffL;
          }
          break;
        case Op.NOP:
          break;
        default:
          generic(in, R, em);
      }
      pc++;
    }
  }

  private static void generic(Insn in, long[] R, int em) {
    int d = in.d;
    int a = in.a;
    int b = in.b;
    int c = in.c;
    int e = in.e;
    for (int m = em; m != 0; m &= m - 1) {
      int l = Integer.numberOfTrailingZeros(m);
      R[d + l] = Alu.eval(in, R[a + l], b >= 0 ? R[b + l] : 0, c >= 0 ? R[c + l] : 0,
          e >= 0 ? R[e + l] : 0);
    }
  }

  // ---- warp operations

  /** Faults when the member mask names a live lane of this warp that is not executing the instruction. */
  private void checkMembers(Insn in, int member, int em, int w) {
    int missing = member & ~em & ~dones[w] & ~absents[w];
    if (missing != 0) {
      throw fault(in, Integer.numberOfTrailingZeros(em), w, String.format("member mask 0x%08x names"
          + " lanes 0x%08x that are not executing this instruction (diverged)", member, missing));
    }
  }

  private void shfl(Insn in, long[] R, int em, int w) {
    if (em == 0) {
      return;
    }
    int first = Integer.numberOfTrailingZeros(em);
    checkMembers(in, (int) R[in.e + first], em, w);
    long[] out = scratch;
    boolean[] ok = scratchPred;
    for (int m = em; m != 0; m &= m - 1) {
      int l = Integer.numberOfTrailingZeros(m);
      int bval = (int) R[in.b + l] & 0x1f;
      int cv = (int) R[in.c + l];
      int clamp = cv & 0x1f;
      int seg = (cv >>> 8) & 0x1f;
      int maxLane = (l & seg) | (clamp & ~seg);
      int minLane = l & seg;
      int j;
      boolean p;
      switch (in.aux) {
        case Op.SHFL_UP -> { j = l - bval; p = j >= maxLane; }
        case Op.SHFL_DOWN -> { j = l + bval; p = j <= maxLane; }
        case Op.SHFL_BFLY -> { j = l ^ bval; p = j <= maxLane; }
        default -> { j = minLane | (bval & ~seg); p = j <= maxLane; }
      }
      if (!p) {
        j = l;
      }
      out[l] = R[in.a + j];
      ok[l] = p;
    }
    for (int m = em; m != 0; m &= m - 1) {
      int l = Integer.numberOfTrailingZeros(m);
      R[in.d + l] = out[l];
      if (in.d2 >= 0) {
        R[in.d2 + l] = ok[l] ? 1 : 0;
      }
    }
  }

  private void vote(Insn in, long[] R, int em, int w) {
    if (em == 0) {
      return;
    }
    int first = Integer.numberOfTrailingZeros(em);
    checkMembers(in, (int) R[in.e + first], em, w);
    boolean negate = in.size == 1;
    int ballot = 0;
    for (int m = em; m != 0; m &= m - 1) {
      int l = Integer.numberOfTrailingZeros(m);
      if ((R[in.a + l] != 0) ^ negate) {
        ballot |= 1 << l;
      }
    }
    long result = switch (in.aux) {
      case Op.VOTE_ALL -> ballot == em ? 1 : 0;
      case Op.VOTE_ANY -> ballot != 0 ? 1 : 0;
      case Op.VOTE_UNI -> ballot == 0 || ballot == em ? 1 : 0;
      default -> ballot & 0xffffffffL;
    };
    for (int m = em; m != 0; m &= m - 1) {
      R[in.d + Integer.numberOfTrailingZeros(m)] = result;
    }
  }

  // ---- memory

  private void segment(Insn in, long address, int size, int lane, int w) {
    GlobalMemory.Segment s = memory.find(address, size);
    if (s == null) {
      throw fault(in, lane, w, memory.describe(address, size));
    }
    segBase = s.base();
    segEnd = s.end();
    segBuf = s.buffer();
  }

  /** Where an access lands: its buffer and the index in it. Set by {@link #resolve}. */
  private ByteBuffer rb;
  private int ri;

  private void resolve(Insn in, int space, long address, int size, int lane, int w) {
    if ((address & (size - 1)) != 0) {
      throw fault(in, lane, w, String.format("misaligned %d-byte access at 0x%x", size, address));
    }
    switch (space) {
      case Op.GLOBAL, Op.CONST -> {
        if (address < segBase || address + size > segEnd) {
          segment(in, address, size, lane, w);
        }
        rb = segBuf;
        ri = (int) (address - segBase);
      }
      case Op.SHARED -> {
        address &= 0xffffffffL;
        if (address + size > sharedSize) {
          throw fault(in, lane, w, String.format("shared access of %d bytes at offset 0x%x outside the"
              + " block's %d bytes", size, address, sharedSize));
        }
        rb = shared;
        ri = (int) address;
      }
      case Op.LOCAL -> {
        address &= 0xffffffffL;
        if (address + size > localSize) {
          throw fault(in, lane, w, String.format("local access of %d bytes at offset 0x%x outside the"
              + " thread's %d bytes", size, address, localSize));
        }
        rb = local;
        ri = (int) ((w * 32 + lane) * (long) localSize + address);
      }
      case Op.PARAM -> {
        if (address < 0 || address + size > params.capacity()) {
          throw fault(in, lane, w, String.format("parameter read of %d bytes at offset %d outside the"
              + " %d-byte parameter buffer", size, address, params.capacity()));
        }
        rb = params;
        ri = (int) address;
      }
      default -> {
        if (address >= Decoder.SHARED_WINDOW && address < Decoder.SHARED_WINDOW + Decoder.WINDOW_SIZE) {
          resolve(in, Op.SHARED, address - Decoder.SHARED_WINDOW, size, lane, w);
        } else if (address >= Decoder.LOCAL_WINDOW
            && address < Decoder.LOCAL_WINDOW + Decoder.WINDOW_SIZE) {
          resolve(in, Op.LOCAL, address - Decoder.LOCAL_WINDOW, size, lane, w);
        } else {
          resolve(in, Op.GLOBAL, address, size, lane, w);
        }
      }
    }
  }

  private static long read(ByteBuffer buf, int i, int size, int type) {
    return switch (size) {
      case 1 -> Type.signed(type) ? buf.get(i) : buf.get(i) & 0xffL;
      case 2 -> Type.signed(type) ? buf.getShort(i) : buf.getShort(i) & 0xffffL;
      case 4 -> Type.signed(type) ? buf.getInt(i) : buf.getInt(i) & 0xffffffffL;
      default -> buf.getLong(i);
    };
  }

  private static void write(ByteBuffer buf, int i, int size, long v) {
    switch (size) {
      case 1 -> buf.put(i, (byte) v);
      case 2 -> buf.putShort(i, (short) v);
      case 4 -> buf.putInt(i, (int) v);
      default -> buf.putLong(i, v);
    }
  }

  /** The cached segment of instruction {@code pc} if it holds the access, else a fresh lookup. */
  private GlobalMemory.Segment segmentFor(Insn in, int pc, long addr, int size, int lane, int w) {
    if ((addr & (size - 1)) != 0) {
      throw fault(in, lane, w, String.format("misaligned %d-byte access at 0x%x", size, addr));
    }
    GlobalMemory.Segment s = memory.find(addr, size);
    if (s == null) {
      throw fault(in, lane, w, memory.describe(addr, size));
    }
    segCache[pc] = s;
    return s;
  }

  private void load(Insn in, long[] R, int em, int w, int pc) {
    int size = in.size;
    int type = in.type;
    long imm = in.imm;
    int a = in.a;
    int d = in.d;
    int[] vec = in.vec;
    if (vec == null && in.space == Op.GLOBAL && size == 4 && a >= 0) {
      boolean signed = type == Type.S32;
      GlobalMemory.Segment s = segCache[pc];
      long base = s == null ? 1 : s.base();
      long end = s == null ? 0 : s.end();
      ByteBuffer buf = s == null ? null : s.buffer();
      if (em == -1) {
        long lo = Long.MAX_VALUE;
        long hi = Long.MIN_VALUE;
        long misaligned = 0;
        for (int l = 0; l < 32; l++) {
          long addr = R[a + l] + imm;
          lo = Math.min(lo, addr);
          hi = Math.max(hi, addr);
          misaligned |= addr;
        }
        if ((misaligned & 3) == 0 && lo >= base && hi + 4 <= end) {
          // the whole warp's access lies in the cached segment: no per-lane checks
          for (int l = 0; l < 32; l++) {
            int v = buf.getInt((int) (R[a + l] + imm - base));
            R[d + l] = signed ? v : v & 0xffffffffL;
          }
          return;
        }
      }
      for (int m = em; m != 0; m &= m - 1) {
        int l = Integer.numberOfTrailingZeros(m);
        long addr = R[a + l] + imm;
        if ((addr & 3) != 0 || addr < base || addr + 4 > end) {
          s = segmentFor(in, pc, addr, 4, l, w);
          base = s.base();
          end = s.end();
          buf = s.buffer();
        }
        int v = buf.getInt((int) (addr - base));
        R[d + l] = signed ? v : v & 0xffffffffL;
      }
      return;
    }
    int n = vec == null ? 1 : vec.length;
    int align = size * n;
    for (int m = em; m != 0; m &= m - 1) {
      int l = Integer.numberOfTrailingZeros(m);
      long addr = (a >= 0 ? R[a + l] : 0) + imm;
      if (n == 1) {
        resolve(in, in.space, addr, size, l, w);
        R[d + l] = read(rb, ri, size, type);
      } else {
        if ((addr & (align - 1)) != 0) {
          throw fault(in, l, w, String.format("misaligned %d-byte vector access at 0x%x", align, addr));
        }
        for (int i = 0; i < n; i++) {
          resolve(in, in.space, addr + (long) i * size, size, l, w);
          R[vec[i] + l] = read(rb, ri, size, type);
        }
      }
    }
  }

  private void store(Insn in, long[] R, int em, int w, int pc) {
    int size = in.size;
    long imm = in.imm;
    int a = in.a;
    int b = in.b;
    int[] vec = in.vec;
    if (in.space == Op.PARAM) {
      throw fault(in, Integer.numberOfTrailingZeros(em), w, "store to the parameter space");
    }
    if (vec == null && in.space == Op.GLOBAL && size == 4 && a >= 0) {
      GlobalMemory.Segment s = segCache[pc];
      long base = s == null ? 1 : s.base();
      long end = s == null ? 0 : s.end();
      ByteBuffer buf = s == null ? null : s.buffer();
      for (int m = em; m != 0; m &= m - 1) {
        int l = Integer.numberOfTrailingZeros(m);
        long addr = R[a + l] + imm;
        if ((addr & 3) != 0 || addr < base || addr + 4 > end) {
          s = segmentFor(in, pc, addr, 4, l, w);
          base = s.base();
          end = s.end();
          buf = s.buffer();
        }
        buf.putInt((int) (addr - base), (int) R[b + l]);
      }
      return;
    }
    int n = vec == null ? 1 : vec.length;
    int align = size * n;
    for (int m = em; m != 0; m &= m - 1) {
      int l = Integer.numberOfTrailingZeros(m);
      long addr = (a >= 0 ? R[a + l] : 0) + imm;
      if (n == 1) {
        resolve(in, in.space, addr, size, l, w);
        write(rb, ri, size, R[b + l]);
      } else {
        if ((addr & (align - 1)) != 0) {
          throw fault(in, l, w, String.format("misaligned %d-byte vector access at 0x%x", align, addr));
        }
        for (int i = 0; i < n; i++) {
          resolve(in, in.space, addr + (long) i * size, size, l, w);
          write(rb, ri, size, R[vec[i] + l]);
        }
      }
    }
  }

  private void atom(Insn in, long[] R, int em, int w) {
    int size = in.size;
    int type = in.type;
    for (int m = em; m != 0; m &= m - 1) {
      int l = Integer.numberOfTrailingZeros(m);
      long addr = (in.a >= 0 ? R[in.a + l] : 0) + in.imm;
      resolve(in, in.space, addr, size, l, w);
      if (rb == params || rb == local) {
        throw fault(in, l, w, "atomic outside the global and shared spaces");
      }
      long v = R[in.b + l];
      long old = size == 4 ? atom32(rb, ri, in.aux, type, (int) v, in.c >= 0 ? (int) R[in.c + l] : 0)
          : atom64(rb, ri, in.aux, type, v, in.c >= 0 ? R[in.c + l] : 0);
      R[in.d + l] = old;
    }
  }

  private static long atom32(ByteBuffer buf, int i, int op, int type, int v, int cmpNew) {
    switch (op) {
      case Op.A_ADD:
        if (type == Type.F32) {
          while (true) {
            int cur = (int) INT.getVolatile(buf, i);
            int next = Float.floatToRawIntBits(Float.intBitsToFloat(cur) + Float.intBitsToFloat(v));
            if (INT.compareAndSet(buf, i, cur, next)) {
              return cur & 0xffffffffL;
            }
          }
        }
        return (int) INT.getAndAdd(buf, i, v) & 0xffffffffL;
      case Op.A_EXCH:
        return (int) INT.getAndSet(buf, i, v) & 0xffffffffL;
      case Op.A_CAS:
        return (int) INT.compareAndExchange(buf, i, v, cmpNew) & 0xffffffffL;
      case Op.A_AND:
        return (int) INT.getAndBitwiseAnd(buf, i, v) & 0xffffffffL;
      case Op.A_OR:
        return (int) INT.getAndBitwiseOr(buf, i, v) & 0xffffffffL;
      case Op.A_XOR:
        return (int) INT.getAndBitwiseXor(buf, i, v) & 0xffffffffL;
      default:
        while (true) {
          int cur = (int) INT.getVolatile(buf, i);
          int next;
          switch (op) {
            case Op.A_MIN -> next = type == Type.S32 ? Math.min(cur, v)
                : Integer.compareUnsigned(cur, v) <= 0 ? cur : v;
            case Op.A_MAX -> next = type == Type.S32 ? Math.max(cur, v)
                : Integer.compareUnsigned(cur, v) >= 0 ? cur : v;
            case Op.A_INC -> next = Integer.compareUnsigned(cur, v) >= 0 ? 0 : cur + 1;
            default -> next = (cur == 0 || Integer.compareUnsigned(cur, v) > 0) ? v : cur - 1;
          }
          if (INT.compareAndSet(buf, i, cur, next)) {
            return cur & 0xffffffffL;
          }
        }
    }
  }

  private static long atom64(ByteBuffer buf, int i, int op, int type, long v, long cmpNew) {
    switch (op) {
      case Op.A_ADD:
        if (type == Type.F64) {
          while (true) {
            long cur = (long) LONG.getVolatile(buf, i);
            long next = Double.doubleToRawLongBits(Double.longBitsToDouble(cur)
                + Double.longBitsToDouble(v));
            if (LONG.compareAndSet(buf, i, cur, next)) {
              return cur;
            }
          }
        }
        return (long) LONG.getAndAdd(buf, i, v);
      case Op.A_EXCH:
        return (long) LONG.getAndSet(buf, i, v);
      case Op.A_CAS:
        return (long) LONG.compareAndExchange(buf, i, v, cmpNew);
      case Op.A_AND:
        return (long) LONG.getAndBitwiseAnd(buf, i, v);
      case Op.A_OR:
        return (long) LONG.getAndBitwiseOr(buf, i, v);
      case Op.A_XOR:
        return (long) LONG.getAndBitwiseXor(buf, i, v);
      default:
        while (true) {
          long cur = (long) LONG.getVolatile(buf, i);
          long next = switch (op) {
            case Op.A_MIN -> type == Type.S64 ? Math.min(cur, v)
                : Long.compareUnsigned(cur, v) <= 0 ? cur : v;
            default -> type == Type.S64 ? Math.max(cur, v)
                : Long.compareUnsigned(cur, v) >= 0 ? cur : v;
          };
          if (LONG.compareAndSet(buf, i, cur, next)) {
            return cur;
          }
        }
    }
  }
}
