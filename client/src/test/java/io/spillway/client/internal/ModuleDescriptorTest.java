package io.spillway.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.client.KernelArg.Access;
import io.spillway.kernels.SpillwayKernels;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModuleDescriptorTest {

  private static final Access R = Access.READ;
  private static final Access W = Access.WRITE;
  private static final Access RW = Access.READ_WRITE;
  private static final Access V = Access.UNSPECIFIED;

  @Test
  void theKernelLibraryDeclaresWhatEachFunctionDoesWithEachParameter() {
    assertEquals(Map.of(
        "vector_add", List.of(R, R, W, V),
        "saxpy", List.of(V, R, RW, V),
        "dense", List.of(R, R, R, W, V, V, V, V),
        "softmax", List.of(R, W, V, V),
        "fill_f32", List.of(W, V, V)), ModuleDescriptor.pointerAccess(SpillwayKernels.ptx()));
  }

  @Test
  void onlyTheLeadingCommentsCountAndABinaryImageDeclaresNothing() {
    assertEquals(Map.of("k", List.of(R)), ModuleDescriptor.pointerAccess(bytes(
        "\n// a module\n  // spillway.pointer-access k in\n.version 9.0\n// spillway.pointer-access late out\n")));
    assertTrue(ModuleDescriptor.pointerAccess(new byte[] {0x7f, 'E', 'L', 'F', '\n', '/', '/'}).isEmpty());
    assertTrue(ModuleDescriptor.pointerAccess(bytes("// ptx")).isEmpty());
    assertTrue(ModuleDescriptor.pointerAccess(new byte[0]).isEmpty());
  }

  @Test
  void aMalformedDescriptorLineIsRefusedByName() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> ModuleDescriptor.pointerAccess(bytes("// spillway.pointer-access k in,read\n")));
    assertTrue(e.getMessage().contains("'read' is not in, out, inout or -"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ModuleDescriptor.pointerAccess(
        bytes("// spillway.pointer-access k in\n// spillway.pointer-access k out\n")));
    assertTrue(e.getMessage().contains("declared twice"), e.getMessage());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
