package io.spillway.node.driver;

import java.util.List;

/** The parameter types of one kernel, as its PTX {@code .entry} declares them. */
public record KernelSignature(String function, List<ParamType> params) {

  public KernelSignature {
    params = List.copyOf(params);
  }

  /** PTX parameter classes, and which {@link KernelArgument} kinds each accepts. */
  public enum ParamType {
    /** {@code .u64}/{@code .s64}/{@code .b64}: a device pointer or a 64-bit integer. */
    B64,
    /** {@code .u32}/{@code .s32}/{@code .b32}: a 32-bit integer. */
    B32,
    F32,
    F64,
    /** Other widths or aligned byte arrays (structs): passed as declared, not type-checked. */
    OTHER;

    public boolean accepts(KernelArgument arg) {
      return switch (this) {
        case B64 -> arg instanceof KernelArgument.Pointer || arg instanceof KernelArgument.I64;
        case B32 -> arg instanceof KernelArgument.I32;
        case F32 -> arg instanceof KernelArgument.F32;
        case F64 -> arg instanceof KernelArgument.F64;
        case OTHER -> true;
      };
    }
  }
}
