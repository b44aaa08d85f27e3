package io.spillway.ptx;

import java.util.List;

/** An instruction operand as written. */
public sealed interface Operand {

  /** A register or special register: {@code %r1}, {@code %tid.x}. */
  record Reg(String name) implements Operand {}

  /** A name: a label, a variable (its address), or a function. */
  record Sym(String name) implements Operand {}

  /**
   * A literal. {@code bits} is the integer value, or for {@code 0f...}/{@code 0d...} and decimal
   * floating literals the IEEE bits of a float ({@link Kind#F32}) or double ({@link Kind#F64}).
   */
  record Imm(long bits, Kind kind) implements Operand {
    public enum Kind { INT, F32, F64 }
  }

  /** {@code [base+offset]}: base is a {@link Reg}, a {@link Sym} or null (an absolute address). */
  record Addr(Operand base, long offset) implements Operand {}

  /** {@code {a, b, ...}}: a vector of registers (or sinks). */
  record Vec(List<Operand> elements) implements Operand {}

  /** {@code (a, b, ...)}: a call's argument or return list. */
  record Group(List<Operand> elements) implements Operand {}

  /** {@code !%p}. */
  record Not(Operand operand) implements Operand {}

  /** {@code %p|%q}: setp's two destinations. */
  record Pair(Operand first, Operand second) implements Operand {}

  /** {@code _}: a destination whose value is discarded. */
  record Sink() implements Operand {}

  /** {@code sym+offset} outside brackets (an address expression). */
  record SymOffset(String name, long offset) implements Operand {}
}
