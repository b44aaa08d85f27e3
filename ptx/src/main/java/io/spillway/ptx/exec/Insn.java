package io.spillway.ptx.exec;

/**
 * One decoded instruction. Register operands are slot bases ({@code slot * 32}, so lane {@code l} of
 * the register is {@code regs[base + l]}); literals live in constant slots, so every operand is a
 * slot. Fields unused by an opcode are 0 or -1. Never changes after decoding.
 */
final class Insn {
  int op;
  /** The operation's type (the last type suffix), and for cvt the source type in {@link #type2}. */
  int type;
  int type2;
  int d = -1;
  int d2 = -1;
  int a = -1;
  int b = -1;
  int c = -1;
  int e = -1;
  /** Vector register slot bases for ld/st/mov of {@code .v2}/{@code .v4} and packing. */
  int[] vec;
  /** Address offset, or a literal. */
  long imm;
  int space;
  int size;
  int target;
  int guard = -1;
  boolean guardNegated;
  /** Sub-operation: comparison, rounding mode, shuffle mode, atomic operation... */
  int aux;
  /** setp's combining operation with a third predicate (0 none, 1 and, 2 or, 3 xor). */
  int combine;
  boolean ftz;
  boolean sat;
  boolean approx;
  String text;
  int line;

  String where() {
    return "'" + text + "' (PTX line " + line + ")";
  }
}
