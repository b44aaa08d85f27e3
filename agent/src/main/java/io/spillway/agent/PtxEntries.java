package io.spillway.agent;

import io.spillway.ptx.PtxException;
import io.spillway.ptx.PtxFunction;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.PtxParam;
import io.spillway.ptx.parse.PtxParser;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernels of a PTX module and the byte layout of each one's parameter buffer, read with the same PTX
 * parser the node's executor uses, so the agent and the node agree on every offset.
 */
public final class PtxEntries {

  private PtxEntries() {
  }

  /** Every kernel of {@code ptx} by name, in order of declaration; bad PTX names the line. */
  public static Map<String, KernelLayout> parse(String ptx) {
    PtxModule module;
    try {
      module = PtxParser.parse(ptx);
    } catch (PtxException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    Map<String, KernelLayout> out = new LinkedHashMap<>();
    for (PtxFunction f : module.entries()) {
      List<KernelLayout.Param> params = new ArrayList<>();
      for (PtxParam p : f.params()) {
        KernelLayout.Kind kind = p.array() ? KernelLayout.Kind.BYTES
            : p.type().equals("f64") ? KernelLayout.Kind.F64
            : p.size() == 8 ? KernelLayout.Kind.B64 : KernelLayout.Kind.SCALAR;
        params.add(new KernelLayout.Param(p.name(), p.offset(), p.size(), p.align(), kind));
      }
      out.put(f.name(), new KernelLayout(f.name(), params, f.paramBytes()));
    }
    return out;
  }
}
