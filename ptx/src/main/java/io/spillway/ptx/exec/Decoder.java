package io.spillway.ptx.exec;

import io.spillway.ptx.Operand;
import io.spillway.ptx.PtxException;
import io.spillway.ptx.PtxFunction;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.PtxParam;
import io.spillway.ptx.PtxVariable;
import io.spillway.ptx.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decodes one {@code .entry} of a parsed module into a {@link Kernel}, inlining the device functions
 * it calls. This is where the executor's instruction set is enforced: an instruction, modifier,
 * operand form or special register the executor does not implement is refused here, at load, with
 * the kernel, the instruction and its PTX line — never executed approximately.
 *
 * <p>Generic addresses: the global space is the device's own addresses; the shared space of the
 * running block appears at {@link #SHARED_WINDOW}, the running thread's local space at
 * {@link #LOCAL_WINDOW} (each 4 GiB), so {@code cvta} is an add and generic accesses pick their space
 * by address. Drivers must not hand out device addresses inside those windows.
 */
public final class Decoder {

  public static final long SHARED_WINDOW = 1L << 40;
  public static final long LOCAL_WINDOW = 2L << 40;
  public static final long WINDOW_SIZE = 1L << 32;

  /** Limits that keep a hostile module from exhausting the host. */
  public static final int MAX_SLOTS = 1 << 16;
  public static final int MAX_INSTRUCTIONS = 1 << 21;
  public static final int MAX_INLINE_DEPTH = 16;
  public static final long MAX_LOCAL_BYTES = 64 * 1024;
  public static final long MAX_SHARED_BYTES = 228 * 1024;

  /** Resolves a module {@code .global}/{@code .const} variable to its device address. */
  @FunctionalInterface
  public interface Symbols {
    long address(PtxVariable variable);
  }

  private final PtxModule module;
  private final PtxFunction entry;
  private final Symbols symbols;
  private final List<Insn> code = new ArrayList<>();
  private final Map<Long, Integer> constants = new HashMap<>();
  private final Map<Integer, Integer> specials = new LinkedHashMap<>();
  private final Map<String, Long> sharedOffsets = new HashMap<>();
  private final Map<String, Long> functionShared = new HashMap<>();
  private final Map<String, PtxVariable> moduleVariables = new HashMap<>();
  private final Set<String> callStack = new HashSet<>();
  private final List<Fixup> fixups = new ArrayList<>();
  private int slots;
  private int discard = -1;
  private long sharedBytes;
  private long dynamicShared = -1;
  private long localBytes;
  private int instances;

  private record Fixup(Insn insn, String label, Frame frame, int line) {}

  /** A parameter or call-site .param variable: kernel parameter space, or a slot in local memory. */
  private record Binding(int space, long offset) {}

  /** One inlined instance of a function: its own registers, labels, locals and parameters. */
  private static final class Frame {
    final PtxFunction function;
    final Map<String, Integer> regs = new HashMap<>();
    final Map<String, Integer> labels = new HashMap<>();
    final Map<String, Long> locals = new HashMap<>();
    final Map<String, Binding> params = new HashMap<>();
    final Map<String, Long> shared = new HashMap<>();
    final int depth;
    Insn returnJump;
    final List<Insn> returns = new ArrayList<>();

    Frame(PtxFunction function, int depth) {
      this.function = function;
      this.depth = depth;
    }
  }

  private Decoder(PtxModule module, PtxFunction entry, Symbols symbols) {
    this.module = module;
    this.entry = entry;
    this.symbols = symbols;
  }

  /**
   * Decodes every kernel of {@code module}. {@code symbols} gives each module-scope {@code .global}
   * and {@code .const} variable its device address.
   */
  public static Map<String, Kernel> decodeAll(PtxModule module, Symbols symbols) throws PtxException {
    Map<String, Kernel> out = new LinkedHashMap<>();
    for (PtxFunction f : module.entries()) {
      if (f.body() == null) {
        continue;
      }
      out.put(f.name(), new Decoder(module, f, symbols).decode());
    }
    return out;
  }

  private Kernel decode() throws PtxException {
    for (PtxVariable v : module.variables()) {
      moduleVariables.put(v.name(), v);
    }
    for (PtxVariable v : module.variables()) {
      if (v.space() == PtxVariable.Space.SHARED) {
        if (v.count() < 0 || v.external()) {
          continue;
        }
        sharedOffsets.put(v.name(), allocShared(v));
      }
    }
    for (PtxFunction fn : module.functions()) {
      if (fn.body() == null) {
        continue;
      }
      for (Statement st : fn.body()) {
        if (st instanceof Statement.VarDecl vd && vd.variable().space() == PtxVariable.Space.SHARED) {
          PtxVariable v = vd.variable();
          if (v.count() < 0) {
            throw new PtxException(v.line(), "function " + fn.name() + ": unsized .shared inside a"
                + " function");
          }
          functionShared.put(fn.name() + "\0" + v.name(), allocShared(v));
        }
      }
    }
    long dynAlign = 16;
    for (PtxVariable v : module.variables()) {
      if (v.space() == PtxVariable.Space.SHARED && (v.count() < 0 || v.external())) {
        dynAlign = Math.max(dynAlign, v.align());
      }
    }
    dynamicShared = (sharedBytes + dynAlign - 1) / dynAlign * dynAlign;
    Frame frame = new Frame(entry, 0);
    for (PtxParam p : entry.params()) {
      frame.params.put(p.name(), new Binding(Op.PARAM, p.offset()));
    }
    body(frame);
    Insn exit = new Insn();
    exit.op = Op.EXIT;
    exit.text = "(end of " + entry.name() + ")";
    exit.line = entry.line();
    code.add(exit);
    for (Fixup f : fixups) {
      Integer pc = f.frame.labels.get(f.label);
      if (pc == null) {
        throw new PtxException(f.line, "kernel " + entry.name() + (f.frame.function != entry
            ? " (in " + f.frame.function.name() + ")" : "") + ": branch to undefined label " + f.label);
      }
      f.insn.target = pc;
    }
    int[] constSlots = new int[constants.size()];
    long[] constValues = new long[constants.size()];
    int i = 0;
    for (Map.Entry<Long, Integer> e : constants.entrySet()) {
      constSlots[i] = e.getValue();
      constValues[i] = e.getKey();
      i++;
    }
    int[] specialSlots = new int[specials.size()];
    int[] specialKinds = new int[specials.size()];
    i = 0;
    for (Map.Entry<Integer, Integer> e : specials.entrySet()) {
      specialKinds[i] = e.getKey();
      specialSlots[i] = e.getValue();
      i++;
    }
    return new Kernel(entry.name(), code.toArray(new Insn[0]), slots, constSlots, constValues,
        specialSlots, specialKinds, (int) sharedBytes, (int) dynamicShared, (int) localBytes,
        entry.paramBytes());
  }

  private long allocShared(PtxVariable v) throws PtxException {
    long at = (sharedBytes + v.align() - 1) / v.align() * v.align();
    sharedBytes = at + v.size();
    if (sharedBytes > MAX_SHARED_BYTES) {
      throw new PtxException(v.line(), "kernel " + entry.name() + ": static shared memory exceeds "
          + MAX_SHARED_BYTES + " bytes");
    }
    return at;
  }

  private long allocLocal(long size, int align, int line) throws PtxException {
    long at = (localBytes + align - 1) / align * align;
    localBytes = at + size;
    if (localBytes > MAX_LOCAL_BYTES) {
      throw new PtxException(line, "kernel " + entry.name() + ": local memory per thread exceeds "
          + MAX_LOCAL_BYTES + " bytes");
    }
    return at;
  }

  private int newSlot(int line) throws PtxException {
    if (slots >= MAX_SLOTS) {
      throw new PtxException(line, "kernel " + entry.name() + " needs more than " + MAX_SLOTS
          + " registers after inlining");
    }
    return slots++;
  }

  // ---- bodies

  private void body(Frame frame) throws PtxException {
    for (Statement s : frame.function.body()) {
      if (s instanceof Statement.RegDecl r) {
        declare(frame, r);
      } else if (s instanceof Statement.VarDecl v) {
        variable(frame, v.variable());
      } else if (s instanceof Statement.Label l) {
        if (frame.labels.put(l.name(), code.size()) != null) {
          throw new PtxException(l.line(), where(frame) + ": label " + l.name() + " is defined twice");
        }
      } else if (s instanceof Statement.Instruction in) {
        instruction(frame, in);
        if (code.size() > MAX_INSTRUCTIONS) {
          throw new PtxException(in.line(), "kernel " + entry.name() + " has more than "
              + MAX_INSTRUCTIONS + " instructions after inlining");
        }
      }
    }
  }

  private void declare(Frame frame, Statement.RegDecl r) throws PtxException {
    int n = r.count() < 0 ? 1 : r.count();
    if ((long) n * r.vector() + slots > MAX_SLOTS) {
      throw new PtxException(r.line(), "kernel " + entry.name() + ": register declaration " + r.name()
          + "<" + r.count() + "> exceeds " + MAX_SLOTS + " registers");
    }
    for (int i = 0; i < n; i++) {
      String name = r.count() < 0 ? r.name() : r.name() + i;
      if (frame.regs.containsKey(name)) {
        continue;
      }
      int slot = newSlot(r.line());
      frame.regs.put(name, slot);
      if (r.vector() > 1) {
        String[] comps = {".x", ".y", ".z", ".w"};
        frame.regs.put(name + comps[0], slot);
        for (int c = 1; c < r.vector(); c++) {
          frame.regs.put(name + comps[c], newSlot(r.line()));
        }
      }
    }
  }

  private void variable(Frame frame, PtxVariable v) throws PtxException {
    switch (v.space()) {
      case LOCAL -> frame.locals.put(v.name(), allocLocal(v.size(), v.align(), v.line()));
      case PARAM -> frame.params.put(v.name(), new Binding(Op.LOCAL,
          allocLocal(Math.max(v.size(), 8), Math.max(v.align(), 8), v.line())));
      case SHARED -> frame.shared.put(v.name(), functionShared.get(frame.function.name() + "\0"
          + v.name()));
      default -> throw new PtxException(v.line(), where(frame) + ": ." + v.space().name().toLowerCase()
          + " variable " + v.name() + " inside a function is not supported");
    }
  }

  private String where(Frame frame) {
    return "kernel " + entry.name() + (frame.function != entry ? " (in " + frame.function.name() + ")"
        : "");
  }

  // ---- instructions

  private PtxException unsupported(Frame f, Statement.Instruction in, String why) {
    return new PtxException(in.line(), where(f) + ": instruction '" + in.opcode() + "' is not supported"
        + " by the host executor" + (why.isEmpty() ? "" : " (" + why + ")"), true);
  }

  private PtxException bad(Frame f, Statement.Instruction in, String why) {
    return new PtxException(in.line(), where(f) + ": '" + in.opcode() + "': " + why);
  }

  private static final Set<String> IGNORED_MODS = Set.of("volatile", "relaxed", "acquire", "release",
      "acq_rel", "weak", "gpu", "sys", "cta", "cluster", "nc", "ca", "cg", "cs", "lu", "cv", "wb", "wt",
      "uni", "aligned", "sync", "full", "noftz", "sc", "mmio");

  private void instruction(Frame f, Statement.Instruction in) throws PtxException {
    String[] parts = in.opcode().split("\\.");
    String base = parts[0];
    List<String> mods = Arrays.asList(parts).subList(1, parts.length);
    Insn x = new Insn();
    x.text = in.opcode();
    x.line = in.line();
    if (in.guard() != null) {
      x.guard = reg(f, in, in.guard());
      x.guardNegated = in.guardNegated();
    }
    List<Operand> ops = in.operands();
    int type = lastType(mods);
    x.type = type;
    switch (base) {
      case "mov" -> mov(f, in, x, ops, type);
      case "add", "sub", "mul", "mad", "fma", "div", "rem", "min", "max", "abs", "neg", "and", "or",
          "xor", "not", "cnot", "shl", "shr", "popc", "clz", "brev", "bfe", "bfi", "prmt", "rcp", "sqrt",
          "rsqrt", "ex2", "lg2", "sin", "cos", "tanh", "copysign" -> arith(f, in, x, base, mods, ops,
          type);
      case "setp" -> setp(f, in, x, mods, ops, type);
      case "selp" -> {
        need(f, in, ops, 4);
        x.op = Op.SELP;
        x.d = dst(f, in, ops.get(0));
        x.a = src(f, in, ops.get(1), type);
        x.b = src(f, in, ops.get(2), type);
        x.c = src(f, in, ops.get(3), Type.PRED);
      }
      case "cvt" -> cvt(f, in, x, mods, ops);
      case "cvta" -> cvta(f, in, x, mods, ops);
      case "ld", "st" -> ldst(f, in, x, base.equals("ld"), mods, ops, type);
      case "atom", "red" -> atom(f, in, x, base.equals("red"), mods, ops, type);
      case "bra" -> {
        need(f, in, ops, 1);
        if (!(ops.get(0) instanceof Operand.Sym s)) {
          throw unsupported(f, in, "indirect branch");
        }
        x.op = Op.BRA;
        fixups.add(new Fixup(x, s.name(), f, in.line()));
      }
      case "call" -> {
        call(f, in, ops);
        return;
      }
      case "ret" -> {
        if (f.depth == 0) {
          x.op = Op.EXIT;
        } else {
          x.op = Op.BRA;
          f.returns.add(x);
        }
      }
      case "exit" -> x.op = Op.EXIT;
      case "trap" -> x.op = Op.EXIT + 1000;
      case "bar", "barrier" -> {
        if (mods.contains("warp")) {
          x.op = Op.NOP;
        } else if (mods.contains("arrive") || mods.contains("red")) {
          throw unsupported(f, in, "only bar.sync / barrier.sync of all the block's threads");
        } else {
          x.op = Op.BAR;
          if (ops.size() > 1) {
            x.b = src(f, in, ops.get(1), Type.U32);
          }
        }
      }
      case "membar", "fence", "nanosleep", "prefetch", "prefetchu", "pmevent" -> x.op = Op.NOP;
      case "shfl" -> shfl(f, in, x, mods, ops);
      case "vote" -> vote(f, in, x, mods, ops);
      case "activemask" -> {
        need(f, in, ops, 1);
        x.op = Op.ACTIVEMASK;
        x.d = dst(f, in, ops.get(0));
      }
      default -> throw unsupported(f, in, "");
    }
    code.add(x);
  }

  private void need(Frame f, Statement.Instruction in, List<Operand> ops, int n) throws PtxException {
    if (ops.size() < n) {
      throw bad(f, in, "expected " + n + " operands, found " + ops.size());
    }
  }

  private static int lastType(List<String> mods) {
    int t = -1;
    for (String m : mods) {
      int k = Type.of(m);
      if (k >= 0) {
        t = k;
      }
    }
    return t;
  }

  private static int rounding(List<String> mods) {
    for (String m : mods) {
      switch (m) {
        case "rn": return Op.RN;
        case "rz": return Op.RZ;
        case "rm": return Op.RM;
        case "rp": return Op.RP;
        case "rni": return Op.RNI;
        case "rzi": return Op.RZI;
        case "rmi": return Op.RMI;
        case "rpi": return Op.RPI;
        default: break;
      }
    }
    return Op.RN;
  }

  private void mov(Frame f, Statement.Instruction in, Insn x, List<Operand> ops, int type)
      throws PtxException {
    need(f, in, ops, 2);
    Operand d = ops.get(0);
    Operand s = ops.get(1);
    if (s instanceof Operand.Reg r && (r.name().equals("%clock") || r.name().equals("%clock64")
        || r.name().equals("%globaltimer"))) {
      x.op = Op.CLOCK;
      x.d = dst(f, in, d);
      x.aux = r.name().equals("%clock") ? 0 : 1;
      return;
    }
    if (d instanceof Operand.Vec v) {
      x.op = Op.UNPACK;
      x.vec = vector(f, in, v);
      x.a = src(f, in, s, type);
      x.size = Type.size(type) * 8 / x.vec.length;
      return;
    }
    if (s instanceof Operand.Vec v) {
      x.op = Op.PACK;
      x.vec = vector(f, in, v);
      x.d = dst(f, in, d);
      x.size = Type.size(type) * 8 / x.vec.length;
      return;
    }
    x.op = Op.MOV;
    x.d = dst(f, in, d);
    x.a = src(f, in, s, type);
  }

  private void arith(Frame f, Statement.Instruction in, Insn x, String base, List<String> mods,
      List<Operand> ops, int type) throws PtxException {
    if (type < 0) {
      throw bad(f, in, "no operand type");
    }
    if (type == Type.F16 || mods.contains("f16x2") || mods.contains("bf16") || mods.contains("bf16x2")) {
      throw unsupported(f, in, "half precision");
    }
    for (String m : mods) {
      if (m.equals("cc") || m.equals("relu") || m.equals("NaN") || m.equals("xorsign")
          || m.equals("oob") || m.equals("shiftamt") || m.equals("clamp") || m.equals("wrap")
          || m.equals("b4e") || m.equals("f4e") || m.equals("rc8") || m.equals("ecl") || m.equals("ecr")
          || m.equals("rc16") || m.equals("sat") && !Type.isFloat(type)) {
        throw unsupported(f, in, "modifier ." + m);
      }
    }
    boolean fl = Type.isFloat(type);
    x.ftz = mods.contains("ftz");
    x.sat = mods.contains("sat");
    x.approx = mods.contains("approx");
    x.aux = rounding(mods);
    int srcType = type;
    int n;
    switch (base) {
      case "add" -> { x.op = fl ? Op.FADD : Op.ADD; n = 2; }
      case "sub" -> { x.op = fl ? Op.FSUB : Op.SUB; n = 2; }
      case "mul" -> {
        n = 2;
        if (fl) {
          x.op = Op.FMUL;
        } else if (mods.contains("hi")) {
          x.op = Op.MUL_HI;
        } else if (mods.contains("wide")) {
          x.op = Op.MUL_WIDE;
        } else if (mods.contains("lo")) {
          x.op = Op.MUL_LO;
        } else {
          throw bad(f, in, "integer mul needs .lo, .hi or .wide");
        }
      }
      case "mad", "fma" -> {
        n = 3;
        if (fl) {
          x.op = Op.FFMA;
        } else if (mods.contains("hi")) {
          x.op = Op.MAD_HI;
        } else if (mods.contains("wide")) {
          x.op = Op.MAD_WIDE;
        } else if (mods.contains("lo")) {
          x.op = Op.MAD_LO;
        } else {
          throw bad(f, in, "integer mad needs .lo, .hi or .wide");
        }
      }
      case "div" -> { x.op = fl ? Op.FDIV : Op.DIV; n = 2; }
      case "rem" -> { x.op = Op.REM; n = 2; }
      case "min" -> { x.op = fl ? Op.FMIN : Op.MIN; n = 2; }
      case "max" -> { x.op = fl ? Op.FMAX : Op.MAX; n = 2; }
      case "abs" -> { x.op = fl ? Op.FABS : Op.ABS; n = 1; }
      case "neg" -> { x.op = fl ? Op.FNEG : Op.NEG; n = 1; }
      case "and" -> { x.op = Op.AND; n = 2; }
      case "or" -> { x.op = Op.OR; n = 2; }
      case "xor" -> { x.op = Op.XOR; n = 2; }
      case "not" -> { x.op = Op.NOT; n = 1; }
      case "cnot" -> { x.op = Op.CNOT; n = 1; }
      case "shl" -> { x.op = Op.SHL; n = 2; }
      case "shr" -> { x.op = Op.SHR; n = 2; }
      case "popc" -> { x.op = Op.POPC; n = 1; }
      case "clz" -> { x.op = Op.CLZ; n = 1; }
      case "brev" -> { x.op = Op.BREV; n = 1; }
      case "bfe" -> { x.op = Op.BFE; n = 3; }
      case "bfi" -> { x.op = Op.BFI; n = 4; }
      case "prmt" -> { x.op = Op.PRMT; n = 3; }
      case "rcp" -> { x.op = Op.FRCP; n = 1; }
      case "sqrt" -> { x.op = Op.FSQRT; n = 1; }
      case "rsqrt" -> { x.op = Op.FRSQRT; n = 1; }
      case "ex2" -> { x.op = Op.FEX2; n = 1; }
      case "lg2" -> { x.op = Op.FLG2; n = 1; }
      case "sin" -> { x.op = Op.FSIN; n = 1; }
      case "cos" -> { x.op = Op.FCOS; n = 1; }
      case "tanh" -> { x.op = Op.FTANH; n = 1; }
      default -> { x.op = Op.COPYSIGN; n = 2; }
    }
    boolean floatOnly = x.op >= Op.FRCP && x.op <= Op.FTANH || x.op == Op.COPYSIGN;
    if (floatOnly && !fl) {
      throw bad(f, in, "needs a floating-point type");
    }
    if (fl && (x.op == Op.DIV || x.op == Op.REM || x.op == Op.AND || x.op == Op.OR || x.op == Op.XOR
        || x.op == Op.NOT || x.op == Op.CNOT || x.op == Op.SHL || x.op == Op.SHR || x.op == Op.POPC
        || x.op == Op.CLZ || x.op == Op.BREV || x.op == Op.BFE || x.op == Op.BFI || x.op == Op.PRMT)) {
      if (x.op != Op.REM) {
        throw bad(f, in, "needs an integer type");
      }
    }
    if (type == Type.F64 && x.ftz) {
      x.ftz = false;
    }
    need(f, in, ops, n + 1);
    x.d = dst(f, in, ops.get(0));
    int shiftType = (x.op == Op.SHL || x.op == Op.SHR) ? Type.U32 : srcType;
    x.a = src(f, in, ops.get(1), srcType);
    if (n >= 2) {
      x.b = src(f, in, ops.get(2), x.op == Op.BFE || x.op == Op.BFI ? Type.U32 : shiftType);
    }
    if (n >= 3) {
      int ct = x.op == Op.BFE ? Type.U32 : x.op == Op.MAD_WIDE ? wide(type) : srcType;
      x.c = src(f, in, ops.get(3), x.op == Op.BFI ? Type.U32 : ct);
    }
    if (n >= 4) {
      x.e = src(f, in, ops.get(4), Type.U32);
    }
  }

  private static int wide(int t) {
    return switch (t) {
      case Type.S16 -> Type.S32;
      case Type.U16 -> Type.U32;
      case Type.S32 -> Type.S64;
      default -> Type.U64;
    };
  }

  private void setp(Frame f, Statement.Instruction in, Insn x, List<String> mods, List<Operand> ops,
      int type) throws PtxException {
    x.op = Op.SETP;
    if (type < 0 || type == Type.F16) {
      throw unsupported(f, in, "setp type");
    }
    int cmp = -1;
    for (String m : mods) {
      int c = switch (m) {
        case "eq" -> Op.EQ;
        case "ne" -> Op.NE;
        case "lt", "lo" -> Op.LT;
        case "le", "ls" -> Op.LE;
        case "gt", "hi" -> Op.GT;
        case "ge", "hs" -> Op.GE;
        case "equ" -> Op.EQU;
        case "neu" -> Op.NEU;
        case "ltu" -> Op.LTU;
        case "leu" -> Op.LEU;
        case "gtu" -> Op.GTU;
        case "geu" -> Op.GEU;
        case "num" -> Op.NUM;
        case "nan" -> Op.NAN;
        default -> -1;
      };
      if (c >= 0) {
        cmp = c;
      }
      if (m.equals("and")) {
        x.combine = 1;
      } else if (m.equals("or")) {
        x.combine = 2;
      } else if (m.equals("xor")) {
        x.combine = 3;
      }
    }
    if (cmp < 0) {
      throw bad(f, in, "no comparison");
    }
    if (!Type.isFloat(type) && cmp >= Op.EQU) {
      throw bad(f, in, "unordered comparison on an integer type");
    }
    x.aux = cmp;
    x.ftz = mods.contains("ftz");
    need(f, in, ops, 3);
    Operand d = ops.get(0);
    if (d instanceof Operand.Pair p) {
      x.d = dst(f, in, p.first());
      x.d2 = dst(f, in, p.second());
    } else {
      x.d = dst(f, in, d);
    }
    x.a = src(f, in, ops.get(1), type);
    x.b = src(f, in, ops.get(2), type);
    if (x.combine != 0) {
      need(f, in, ops, 4);
      Operand c = ops.get(3);
      if (c instanceof Operand.Not n) {
        x.c = src(f, in, n.operand(), Type.PRED);
        x.size = 1;
      } else {
        x.c = src(f, in, c, Type.PRED);
      }
    }
  }

  private void cvt(Frame f, Statement.Instruction in, Insn x, List<String> mods, List<Operand> ops)
      throws PtxException {
    List<Integer> types = new ArrayList<>();
    for (String m : mods) {
      if (Type.of(m) >= 0) {
        types.add(Type.of(m));
      } else if (!m.equals("ftz") && !m.equals("sat") && rounding(List.of(m)) == Op.RN && !m.equals("rn")) {
        throw unsupported(f, in, "modifier ." + m);
      }
    }
    if (types.size() != 2) {
      throw bad(f, in, "cvt needs a destination and a source type");
    }
    if (types.contains(Type.F16)) {
      throw unsupported(f, in, "half precision");
    }
    x.op = Op.CVT;
    x.type = types.get(0);
    x.type2 = types.get(1);
    x.aux = rounding(mods);
    x.ftz = mods.contains("ftz");
    x.sat = mods.contains("sat");
    need(f, in, ops, 2);
    x.d = dst(f, in, ops.get(0));
    x.a = src(f, in, ops.get(1), x.type2);
  }

  private void cvta(Frame f, Statement.Instruction in, Insn x, List<String> mods, List<Operand> ops)
      throws PtxException {
    need(f, in, ops, 2);
    boolean to = mods.contains("to");
    int space = spaceOf(mods);
    x.d = dst(f, in, ops.get(0));
    x.a = src(f, in, ops.get(1), Type.U64);
    if (space == Op.GLOBAL || space == Op.CONST) {
      x.op = Op.MOV;
    } else if (space == Op.SHARED || space == Op.LOCAL) {
      x.op = Op.CVTA;
      x.space = space;
      x.aux = to ? 1 : 0;
      x.size = lastType(mods) == Type.U32 || lastType(mods) == Type.B32 ? 4 : 8;
    } else {
      throw unsupported(f, in, "cvta of this space");
    }
  }

  private static int spaceOf(List<String> mods) {
    for (String m : mods) {
      switch (m) {
        case "global": return Op.GLOBAL;
        case "shared": return Op.SHARED;
        case "local": return Op.LOCAL;
        case "param": return Op.PARAM;
        case "const": return Op.CONST;
        default: break;
      }
    }
    return Op.GENERIC;
  }

  private void ldst(Frame f, Statement.Instruction in, Insn x, boolean load, List<String> mods,
      List<Operand> ops, int type) throws PtxException {
    int vec = 1;
    for (String m : mods) {
      if (m.equals("v2")) {
        vec = 2;
      } else if (m.equals("v4")) {
        vec = 4;
      } else if (Type.of(m) < 0 && spaceOf(List.of(m)) == Op.GENERIC && !IGNORED_MODS.contains(m)) {
        throw unsupported(f, in, "modifier ." + m);
      }
    }
    if (type < 0 || type == Type.PRED) {
      throw bad(f, in, "no data type");
    }
    x.op = load ? Op.LD : Op.ST;
    x.size = Type.size(type);
    need(f, in, ops, 2);
    Operand data = load ? ops.get(0) : ops.get(1);
    Operand addr = load ? ops.get(1) : ops.get(0);
    if (!(addr instanceof Operand.Addr a)) {
      throw bad(f, in, "expected an address in [brackets]");
    }
    if (vec > 1) {
      if (!(data instanceof Operand.Vec v) || v.elements().size() != vec) {
        throw bad(f, in, "expected a vector of " + vec + " registers");
      }
      x.vec = load ? vector(f, in, v) : srcVector(f, in, v, type);
    } else if (load) {
      x.d = dst(f, in, data);
    } else {
      x.b = src(f, in, data, type);
    }
    address(f, in, x, spaceOf(mods), a);
  }

  /** Resolves an address operand into (space, base slot or -1, constant offset). */
  private void address(Frame f, Statement.Instruction in, Insn x, int space, Operand.Addr a)
      throws PtxException {
    x.space = space;
    x.imm = a.offset();
    if (a.base() instanceof Operand.Reg r) {
      if (space == Op.PARAM) {
        throw unsupported(f, in, "a parameter read through a register address");
      }
      x.a = reg(f, in, r.name());
      return;
    }
    if (a.base() == null) {
      x.a = -1;
      return;
    }
    String name = ((Operand.Sym) a.base()).name();
    Binding p = f.params.get(name);
    if (p != null) {
      if (space != Op.PARAM) {
        throw unsupported(f, in, "the address of parameter " + name + " in another space");
      }
      if (p.space() == Op.PARAM && x.op != Op.LD) {
        throw unsupported(f, in, "a store to kernel parameter " + name);
      }
      x.space = p.space();
      x.imm += p.offset();
      x.a = -1;
      return;
    }
    long[] resolved = symbol(f, in, name);
    int symSpace = (int) resolved[0];
    if (space == Op.GENERIC) {
      x.imm += resolved[1] + (symSpace == Op.SHARED ? SHARED_WINDOW : symSpace == Op.LOCAL
          ? LOCAL_WINDOW : 0);
    } else {
      boolean compatible = space == symSpace || (space == Op.GLOBAL && symSpace == Op.CONST)
          || (space == Op.CONST && symSpace == Op.GLOBAL);
      if (!compatible) {
        throw bad(f, in, "variable " + name + " is not in the ." + spaceName(space) + " space");
      }
      x.imm += resolved[1];
    }
    x.a = -1;
  }

  private static String spaceName(int space) {
    return switch (space) {
      case Op.GLOBAL -> "global";
      case Op.SHARED -> "shared";
      case Op.LOCAL -> "local";
      case Op.PARAM -> "param";
      case Op.CONST -> "const";
      default -> "generic";
    };
  }

  /** {space, address-in-space} of a named variable visible from {@code f}. */
  private long[] symbol(Frame f, Statement.Instruction in, String name) throws PtxException {
    Long local = f.locals.get(name);
    if (local != null) {
      return new long[] {Op.LOCAL, local};
    }
    Long shared = f.shared.get(name);
    if (shared == null) {
      shared = sharedOffsets.get(name);
    }
    if (shared != null) {
      return new long[] {Op.SHARED, shared};
    }
    PtxVariable v = moduleVariables.get(name);
    if (v != null && v.space() == PtxVariable.Space.SHARED) {
      return new long[] {Op.SHARED, dynamicShared};
    }
    if (v != null) {
      return new long[] {v.space() == PtxVariable.Space.CONST ? Op.CONST : Op.GLOBAL,
          symbols.address(v)};
    }
    throw bad(f, in, "undefined name " + name);
  }

  private void atom(Frame f, Statement.Instruction in, Insn x, boolean red, List<String> mods,
      List<Operand> ops, int type) throws PtxException {
    int op = -1;
    for (String m : mods) {
      int o = switch (m) {
        case "add" -> Op.A_ADD;
        case "min" -> Op.A_MIN;
        case "max" -> Op.A_MAX;
        case "exch" -> Op.A_EXCH;
        case "cas" -> Op.A_CAS;
        case "and" -> Op.A_AND;
        case "or" -> Op.A_OR;
        case "xor" -> Op.A_XOR;
        case "inc" -> Op.A_INC;
        case "dec" -> Op.A_DEC;
        default -> -1;
      };
      if (o >= 0) {
        op = o;
      } else if (Type.of(m) < 0 && spaceOf(List.of(m)) == Op.GENERIC && !IGNORED_MODS.contains(m)) {
        throw unsupported(f, in, "modifier ." + m);
      }
    }
    if (op < 0) {
      throw bad(f, in, "no atomic operation");
    }
    if (type < 0 || (Type.size(type) != 4 && Type.size(type) != 8)) {
      throw unsupported(f, in, "atomic type");
    }
    boolean fl = Type.isFloat(type);
    if (fl && op != Op.A_ADD && op != Op.A_EXCH) {
      throw unsupported(f, in, "floating-point atomic other than add or exch");
    }
    if ((op == Op.A_INC || op == Op.A_DEC) && type != Type.U32) {
      throw unsupported(f, in, "inc/dec other than .u32");
    }
    int space = spaceOf(mods);
    if (space != Op.GLOBAL && space != Op.SHARED && space != Op.GENERIC) {
      throw unsupported(f, in, "atomic in this space");
    }
    x.op = Op.ATOM;
    x.aux = op;
    x.size = Type.size(type);
    int i = 0;
    if (!red) {
      need(f, in, ops, 3);
      x.d = dst(f, in, ops.get(i++));
    } else {
      need(f, in, ops, 2);
      x.d = discard(in.line());
    }
    if (!(ops.get(i) instanceof Operand.Addr a)) {
      throw bad(f, in, "expected an address in [brackets]");
    }
    i++;
    x.b = src(f, in, ops.get(i++), type);
    if (op == Op.A_CAS) {
      need(f, in, ops, i + 1);
      x.c = src(f, in, ops.get(i), type);
    }
    address(f, in, x, space, a);
  }

  private void shfl(Frame f, Statement.Instruction in, Insn x, List<String> mods, List<Operand> ops)
      throws PtxException {
    if (!mods.contains("sync")) {
      throw unsupported(f, in, "shfl without .sync");
    }
    x.op = Op.SHFL;
    x.aux = mods.contains("up") ? Op.SHFL_UP : mods.contains("down") ? Op.SHFL_DOWN
        : mods.contains("bfly") ? Op.SHFL_BFLY : Op.SHFL_IDX;
    need(f, in, ops, 5);
    Operand d = ops.get(0);
    if (d instanceof Operand.Pair p) {
      x.d = dst(f, in, p.first());
      x.d2 = dst(f, in, p.second());
    } else {
      x.d = dst(f, in, d);
    }
    x.a = src(f, in, ops.get(1), Type.B32);
    x.b = src(f, in, ops.get(2), Type.U32);
    x.c = src(f, in, ops.get(3), Type.U32);
    x.e = src(f, in, ops.get(4), Type.U32);
  }

  private void vote(Frame f, Statement.Instruction in, Insn x, List<String> mods, List<Operand> ops)
      throws PtxException {
    if (!mods.contains("sync")) {
      throw unsupported(f, in, "vote without .sync");
    }
    x.op = Op.VOTE;
    x.aux = mods.contains("all") ? Op.VOTE_ALL : mods.contains("any") ? Op.VOTE_ANY
        : mods.contains("uni") ? Op.VOTE_UNI : Op.VOTE_BALLOT;
    need(f, in, ops, 3);
    x.d = dst(f, in, ops.get(0));
    Operand p = ops.get(1);
    if (p instanceof Operand.Not n) {
      x.size = 1;
      p = n.operand();
    }
    x.a = src(f, in, p, Type.PRED);
    x.e = src(f, in, ops.get(2), Type.U32);
  }

  // ---- calls

  private void call(Frame f, Statement.Instruction in, List<Operand> ops) throws PtxException {
    int i = 0;
    List<Operand> rets = List.of();
    if (i < ops.size() && ops.get(i) instanceof Operand.Group g) {
      rets = g.elements();
      i++;
    }
    if (i >= ops.size() || !(ops.get(i) instanceof Operand.Sym target)) {
      throw unsupported(f, in, "indirect call");
    }
    i++;
    List<Operand> args = List.of();
    if (i < ops.size() && ops.get(i) instanceof Operand.Group g) {
      args = g.elements();
      i++;
    }
    if (i < ops.size()) {
      throw unsupported(f, in, "call with a prototype (indirect call)");
    }
    PtxFunction callee = module.function(target.name()).orElseThrow(() ->
        bad(f, in, "call to undefined function " + target.name()));
    if (callee.entry()) {
      throw bad(f, in, "call to kernel " + callee.name());
    }
    if (callee.body() == null) {
      throw unsupported(f, in, "call to " + callee.name() + ", which has no body in this module");
    }
    if (callStack.contains(callee.name())) {
      throw unsupported(f, in, "recursive call to " + callee.name());
    }
    if (f.depth + 1 > MAX_INLINE_DEPTH) {
      throw unsupported(f, in, "calls nested deeper than " + MAX_INLINE_DEPTH);
    }
    if (args.size() != callee.params().size() || rets.size() != callee.returns().size()) {
      throw bad(f, in, "call to " + callee.name() + " passes " + args.size() + " arguments and "
          + rets.size() + " return values; it declares " + callee.params().size() + " and "
          + callee.returns().size());
    }
    Frame inner = new Frame(callee, f.depth + 1);
    bindAll(f, in, inner, callee.params(), args);
    bindAll(f, in, inner, callee.returns(), rets);
    callStack.add(callee.name());
    instances++;
    body(inner);
    callStack.remove(callee.name());
    int end = code.size();
    for (Insn r : inner.returns) {
      r.target = end;
    }
    for (Fixup fx : new ArrayList<>(fixups)) {
      if (fx.frame == inner) {
        Integer pc = inner.labels.get(fx.label);
        if (pc == null) {
          throw new PtxException(fx.line, where(inner) + ": branch to undefined label " + fx.label);
        }
        fx.insn.target = pc;
        fixups.remove(fx);
      }
    }
  }

  private void bindAll(Frame caller, Statement.Instruction in, Frame inner, List<PtxParam> formals,
      List<Operand> actuals) throws PtxException {
    for (int k = 0; k < formals.size(); k++) {
      if (!(actuals.get(k) instanceof Operand.Sym s)) {
        throw unsupported(caller, in, "call argument that is not a .param variable");
      }
      Binding b = caller.params.get(s.name());
      if (b == null || b.space() != Op.LOCAL) {
        throw bad(caller, in, "call argument " + s.name() + " is not a .param variable of this scope");
      }
      inner.params.put(formals.get(k).name(), b);
    }
  }

  // ---- operands

  private int reg(Frame f, Statement.Instruction in, String name) throws PtxException {
    Integer slot = f.regs.get(name);
    if (slot != null) {
      return slot << 5;
    }
    int kind = special(name);
    if (kind >= 0) {
      Integer s = specials.get(kind);
      if (s == null) {
        s = newSlot(in.line());
        specials.put(kind, s);
      }
      return s << 5;
    }
    throw new PtxException(in.line(), where(f) + ": register " + name + " is used in '" + in.opcode()
        + "' but not declared before it");
  }

  private static int special(String name) {
    return switch (name) {
      case "%tid.x" -> Kernel.TID_X;
      case "%tid.y" -> Kernel.TID_Y;
      case "%tid.z" -> Kernel.TID_Z;
      case "%ntid.x" -> Kernel.NTID_X;
      case "%ntid.y" -> Kernel.NTID_Y;
      case "%ntid.z" -> Kernel.NTID_Z;
      case "%ctaid.x" -> Kernel.CTAID_X;
      case "%ctaid.y" -> Kernel.CTAID_Y;
      case "%ctaid.z" -> Kernel.CTAID_Z;
      case "%nctaid.x" -> Kernel.NCTAID_X;
      case "%nctaid.y" -> Kernel.NCTAID_Y;
      case "%nctaid.z" -> Kernel.NCTAID_Z;
      case "%laneid" -> Kernel.LANEID;
      case "%warpid" -> Kernel.WARPID;
      case "%nwarpid" -> Kernel.NWARPID;
      case "%lanemask_eq" -> Kernel.LANEMASK_EQ;
      case "%lanemask_lt" -> Kernel.LANEMASK_LT;
      case "%lanemask_le" -> Kernel.LANEMASK_LE;
      case "%lanemask_gt" -> Kernel.LANEMASK_GT;
      case "%lanemask_ge" -> Kernel.LANEMASK_GE;
      case "%smid" -> Kernel.SMID;
      case "%nsmid" -> Kernel.NSMID;
      case "%gridid" -> Kernel.GRIDID;
      default -> -1;
    };
  }

  private int dst(Frame f, Statement.Instruction in, Operand o) throws PtxException {
    if (o instanceof Operand.Sink) {
      return discard(in.line());
    }
    if (o instanceof Operand.Reg r) {
      if (special(r.name()) >= 0) {
        throw bad(f, in, "special register " + r.name() + " is read-only");
      }
      return reg(f, in, r.name());
    }
    throw bad(f, in, "destination must be a register, found " + describe(o));
  }

  private int discard(int line) throws PtxException {
    if (discard < 0) {
      discard = newSlot(line) << 5;
    }
    return discard;
  }

  private int[] vector(Frame f, Statement.Instruction in, Operand.Vec v) throws PtxException {
    int[] out = new int[v.elements().size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = dst(f, in, v.elements().get(i));
    }
    return out;
  }

  private int[] srcVector(Frame f, Statement.Instruction in, Operand.Vec v, int type)
      throws PtxException {
    int[] out = new int[v.elements().size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = src(f, in, v.elements().get(i), type);
    }
    return out;
  }

  /** A source operand's slot base; literals and addresses become constant slots. */
  private int src(Frame f, Statement.Instruction in, Operand o, int type) throws PtxException {
    if (o instanceof Operand.Reg r) {
      return reg(f, in, r.name());
    }
    if (o instanceof Operand.Imm imm) {
      return constant(literal(imm, type), in.line());
    }
    if (o instanceof Operand.Sym s) {
      if (s.name().equals("WARP_SZ")) {
        return constant(32, in.line());
      }
      return constant(addressOf(f, in, s.name(), 0), in.line());
    }
    if (o instanceof Operand.SymOffset so) {
      return constant(addressOf(f, in, so.name(), so.offset()), in.line());
    }
    throw bad(f, in, "unsupported operand " + describe(o));
  }

  /** {@code mov r, var}: the variable's address in its own space (shared and local as offsets). */
  private long addressOf(Frame f, Statement.Instruction in, String name, long offset)
      throws PtxException {
    if (f.params.containsKey(name)) {
      throw unsupported(f, in, "taking the address of parameter " + name);
    }
    return symbol(f, in, name)[1] + offset;
  }

  private static long literal(Operand.Imm imm, int type) {
    if (type == Type.F32) {
      return switch (imm.kind()) {
        case F32 -> imm.bits() & 0xffffffffL;
        case F64 -> Float.floatToRawIntBits((float) Double.longBitsToDouble(imm.bits())) & 0xffffffffL;
        case INT -> Float.floatToRawIntBits((float) imm.bits()) & 0xffffffffL;
      };
    }
    if (type == Type.F64) {
      return switch (imm.kind()) {
        case F32 -> Double.doubleToRawLongBits(Float.intBitsToFloat((int) imm.bits()));
        case F64 -> imm.bits();
        case INT -> Double.doubleToRawLongBits((double) imm.bits());
      };
    }
    return imm.bits();
  }

  private int constant(long value, int line) throws PtxException {
    Integer slot = constants.get(value);
    if (slot == null) {
      slot = newSlot(line);
      constants.put(value, slot);
    }
    return slot << 5;
  }

  private static String describe(Operand o) {
    return o.getClass().getSimpleName().toLowerCase();
  }
}
