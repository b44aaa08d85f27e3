package io.spillway.ptx;

/**
 * A variable in an addressable state space: module-scope {@code .global}, {@code .const},
 * {@code .shared}, or a function's {@code .local}/{@code .shared}/{@code .param} declaration.
 *
 * @param type the element type without its dot ({@code "b8"}, {@code "f32"}, ...)
 * @param elementSize bytes per element
 * @param count elements; 1 for a scalar, -1 for an unsized array ({@code extern .shared s[]})
 * @param align bytes; the element size when the declaration gives none
 * @param init the initializer as little-endian bytes ({@code size()} long), or null for none
 */
public record PtxVariable(String name, Space space, String type, int elementSize, long count,
    int align, byte[] init, boolean external, int line) {

  /** PTX state spaces that hold variables. */
  public enum Space { GLOBAL, CONST, SHARED, LOCAL, PARAM }

  /** Bytes: {@code elementSize * count}, 0 for an unsized array. */
  public long size() {
    return count < 0 ? 0 : elementSize * count;
  }
}
