package io.spillway.ptx;

import java.util.List;

/** One statement of a function body, in text order. */
public sealed interface Statement {

  int line();

  /** {@code name:} */
  record Label(String name, int line) implements Statement {}

  /**
   * {@code [@[!]guard] opcode operands;} with the opcode as written ({@code "ld.global.v2.f32"}).
   *
   * @param guard the guarding predicate register, or null
   */
  record Instruction(String guard, boolean guardNegated, String opcode, List<Operand> operands,
      int line) implements Statement {
    public Instruction {
      operands = List.copyOf(operands);
    }
  }

  /**
   * {@code .reg .type name;} or {@code .reg .type name<count>;} (registers {@code name0} to
   * {@code name<count-1>}).
   *
   * @param vector 1 for scalars, 2 or 4 for {@code .v2}/{@code .v4}
   * @param count -1 for a single named register
   */
  record RegDecl(String type, int vector, String name, int count, int line) implements Statement {}

  /** A {@code .local}, {@code .shared} or {@code .param} variable declared in the body. */
  record VarDecl(PtxVariable variable) implements Statement {
    @Override
    public int line() {
      return variable.line();
    }
  }

  /** {@code {} opening a nested scope (nvcc wraps each call sequence in one). */
  record Open(int line) implements Statement {}

  /** {@code }} closing a nested scope. */
  record Close(int line) implements Statement {}
}
