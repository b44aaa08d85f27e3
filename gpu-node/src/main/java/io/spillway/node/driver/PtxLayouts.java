package io.spillway.node.driver;

import io.spillway.ptx.PtxException;
import io.spillway.ptx.PtxFunction;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.PtxParam;
import io.spillway.ptx.parse.PtxParser;
import io.spillway.node.driver.KernelSignature.ParamType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Kernel signatures and parameter layouts from PTX, through the {@code spillway-ptx} parser. */
public final class PtxLayouts {

  private PtxLayouts() {}

  /**
   * The signatures of every {@code .entry} in {@code ptx}, by function name, in declaration order.
   *
   * @throws PtxException when the text does not parse (the message names the PTX line)
   */
  public static Map<String, KernelSignature> parse(String ptx) throws PtxException {
    PtxModule module = PtxParser.parse(ptx);
    Map<String, KernelSignature> out = new LinkedHashMap<>();
    for (PtxFunction f : module.entries()) {
      out.put(f.name(), signature(f));
    }
    return Collections.unmodifiableMap(out);
  }

  /**
   * A kernel's signature: {@code .u64/.s64/.b64} parameters are {@link ParamType#B64},
   * {@code .u32/.s32/.b32} {@link ParamType#B32}, {@code .f32}, {@code .f64}, arrays (structs by
   * value) {@link ParamType#BYTES}, other scalars {@link ParamType#OTHER}; offsets as the parser laid
   * them out.
   */
  static KernelSignature signature(PtxFunction f) {
    List<KernelSignature.Param> params = new ArrayList<>();
    for (PtxParam p : f.params()) {
      ParamType type;
      if (p.array()) {
        type = ParamType.BYTES;
      } else {
        type = switch (p.type()) {
          case "u64", "s64", "b64" -> ParamType.B64;
          case "u32", "s32", "b32" -> ParamType.B32;
          case "f32" -> ParamType.F32;
          case "f64" -> ParamType.F64;
          default -> ParamType.OTHER;
        };
      }
      params.add(new KernelSignature.Param(p.name(), p.offset(), p.size(), p.align(), type));
    }
    return new KernelSignature(f.name(), params);
  }
}
