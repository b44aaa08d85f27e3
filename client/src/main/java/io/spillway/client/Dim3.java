package io.spillway.client;

/**
 * A CUDA grid or block shape. Every extent is at least 1.
 */
public record Dim3(int x, int y, int z) {

  public Dim3 {
    if (x < 1 || y < 1 || z < 1) {
      throw new IllegalArgumentException("Dim3 extents must be >= 1, got (" + x + ", " + y + ", " + z + ")");
    }
  }

  public static Dim3 of(int x) {
    return new Dim3(x, 1, 1);
  }

  public static Dim3 of(int x, int y, int z) {
    return new Dim3(x, y, z);
  }
}
