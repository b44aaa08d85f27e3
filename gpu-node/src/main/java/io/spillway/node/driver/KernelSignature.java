package io.spillway.node.driver;

import java.util.List;

/**
 * The parameters of one kernel, as its PTX {@code .entry} declares them: their types, and the byte
 * layout of the parameter buffer that {@link DriverContext#launchRaw} takes.
 */
public record KernelSignature(String function, List<Param> layout) {

  public KernelSignature {
    layout = List.copyOf(layout);
  }

  /**
   * One parameter: its offset in the parameter buffer (aligned to {@code align}, as CUDA lays the
   * buffer out), its size in bytes, and its class.
   */
  public record Param(String name, int offset, int size, int align, ParamType type) {}

  /** The parameter classes, in declaration order. */
  public List<ParamType> params() {
    return layout.stream().map(Param::type).toList();
  }

  /** Total size of the parameter buffer: the end of the last parameter (0 for none). */
  public int paramBytes() {
    return layout.isEmpty() ? 0 : layout.get(layout.size() - 1).offset() + layout.get(layout.size() - 1).size();
  }

  /**
   * Lays out parameters in declaration order: each at the next offset aligned to its alignment.
   * {@code decls} give name, size, alignment and type; offsets are computed here.
   */
  public static KernelSignature laidOut(String function, List<Param> decls) {
    List<Param> out = new java.util.ArrayList<>(decls.size());
    int offset = 0;
    for (Param p : decls) {
      int align = Math.max(1, p.align());
      offset = (offset + align - 1) / align * align;
      out.add(new Param(p.name(), offset, p.size(), align, p.type()));
      offset += p.size();
    }
    return new KernelSignature(function, out);
  }

  /** PTX parameter classes, and which {@link KernelArgument} kinds each accepts. */
  public enum ParamType {
    /** {@code .u64}/{@code .s64}/{@code .b64}: a device pointer or a 64-bit integer. */
    B64,
    /** {@code .u32}/{@code .s32}/{@code .b32}: a 32-bit integer. */
    B32,
    F32,
    F64,
    /** An aligned {@code .b8} array (a struct passed by value); its size comes from the array. */
    BYTES,
    /** Other scalar widths ({@code .u16}, {@code .b8}, ...): passed as declared, not type-checked. */
    OTHER,
    /** From a cubin, which gives sizes but not types: any 4-byte argument ({@code i32}, {@code f32}). */
    W32,
    /** From a cubin: any 8-byte argument ({@code ptr}, {@code i64}, {@code f64}). */
    W64;

    public boolean accepts(KernelArgument arg) {
      return switch (this) {
        case B64 -> arg instanceof KernelArgument.Pointer || arg instanceof KernelArgument.I64;
        case B32 -> arg instanceof KernelArgument.I32;
        case F32 -> arg instanceof KernelArgument.F32;
        case F64 -> arg instanceof KernelArgument.F64;
        case W32 -> arg instanceof KernelArgument.I32 || arg instanceof KernelArgument.F32;
        case W64 -> arg instanceof KernelArgument.Pointer || arg instanceof KernelArgument.I64
            || arg instanceof KernelArgument.F64;
        case BYTES, OTHER -> true;
      };
    }
  }
}
