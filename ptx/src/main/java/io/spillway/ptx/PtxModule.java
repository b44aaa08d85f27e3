package io.spillway.ptx;

import java.util.List;
import java.util.Optional;

/**
 * A parsed PTX module: its header directives, module-scope variables and functions, in the order the
 * text declares them. Produced by {@link io.spillway.ptx.parse.PtxParser}; immutable.
 */
public record PtxModule(String version, String target, int addressSize, List<PtxVariable> variables,
    List<PtxFunction> functions) {

  public PtxModule {
    variables = List.copyOf(variables);
    functions = List.copyOf(functions);
  }

  /** The kernels ({@code .entry} functions), in declaration order. */
  public List<PtxFunction> entries() {
    return functions.stream().filter(PtxFunction::entry).toList();
  }

  /** The function named {@code name} that has a body, or else its declaration. */
  public Optional<PtxFunction> function(String name) {
    PtxFunction declared = null;
    for (PtxFunction f : functions) {
      if (f.name().equals(name)) {
        if (f.body() != null) {
          return Optional.of(f);
        }
        declared = f;
      }
    }
    return Optional.ofNullable(declared);
  }
}
