package io.spillway.ptx;

/**
 * One parameter of a function, with its place in the parameter buffer. Kernel parameters are laid out
 * in declaration order, each at the next offset aligned to its alignment, as CUDA lays out the buffer
 * that {@code cuLaunchKernel} copies.
 *
 * @param type the element type without its dot ({@code "u64"}, {@code "f32"}, {@code "b8"} for a
 *     byte array)
 * @param count elements: 1 for a scalar, the array length for {@code .b8 p[24]}
 * @param array whether the declaration is an array (a struct passed by value)
 */
public record PtxParam(String name, String type, int elementSize, int count, boolean array, int align,
    int offset, boolean pointer, int line) {

  public int size() {
    return elementSize * count;
  }
}
