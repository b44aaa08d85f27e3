package io.spillway.ptx;

import java.util.List;

/**
 * A {@code .entry} (kernel) or {@code .func} (device function).
 *
 * @param returns the {@code .func}'s return parameters (empty for kernels)
 * @param body the statements between the braces, or null for a declaration without a body
 * @param paramBytes the size of the kernel's parameter buffer (the end of its last parameter)
 */
public record PtxFunction(String name, boolean entry, List<PtxParam> params, List<PtxParam> returns,
    List<Statement> body, int paramBytes, int line) {

  public PtxFunction {
    params = List.copyOf(params);
    returns = List.copyOf(returns);
    body = body == null ? null : List.copyOf(body);
  }
}
