package io.spillway.node.driver;

import static io.spillway.node.driver.KernelSignature.ParamType.B32;
import static io.spillway.node.driver.KernelSignature.ParamType.B64;
import static io.spillway.node.driver.KernelSignature.ParamType.BYTES;
import static io.spillway.node.driver.KernelSignature.ParamType.F32;
import static io.spillway.node.driver.KernelSignature.ParamType.F64;
import static io.spillway.node.driver.KernelSignature.ParamType.OTHER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.kernels.SpillwayKernels;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PtxSignaturesTest {

  @Test
  void readsTheKernelLibrary() {
    byte[] ptx = SpillwayKernels.ptx();
    Map<String, KernelSignature> sigs =
        PtxSignatures.parse(new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII));
    assertEquals(SpillwayKernels.FUNCTIONS, List.copyOf(sigs.keySet()));
    assertEquals(List.of(B64, B64, B64, B32), sigs.get("vector_add").params());
    assertEquals(List.of(F32, B64, B64, B32), sigs.get("saxpy").params());
    assertEquals(List.of(B64, B64, B64, B64, B32, B32, B32, B32), sigs.get("dense").params());
    assertEquals(List.of(B64, B64, B32, B32), sigs.get("softmax").params());
    assertEquals(List.of(B64, F32, B32), sigs.get("fill_f32").params());
    for (KernelSignature s : sigs.values()) {
      assertEquals(s.params(), HostKernels.find(s.function()).params(),
          "host kernel " + s.function() + " was written for the signature the PTX declares");
    }
  }

  @Test
  void toleratesCommentsWhitespaceAndUnusualParameters() {
    String ptx = """
        // .entry commented_out(.param .u32 x)
        /* .entry also_commented(
             .param .u32 y) */
        .visible .entry   spaced
        (
          .param .s64 a, // trailing comment, with a comma
          .param .align 8 .b8 s[16],
          .param .f64 d,
          .param .u64 .ptr .global .align 16 p,
          .param .b32 i,
          .param .u16 h,
          .param.s32 packed
        )
        { ret; }
        .entry no_params()
        { ret; }
        .weak .entry bare
        .maxntid 128, 1, 1
        { ret; }
        """;
    Map<String, KernelSignature> sigs = PtxSignatures.parse(ptx);
    assertEquals(List.of("spaced", "no_params", "bare"), List.copyOf(sigs.keySet()));
    // the .b8 array is a struct by value: BYTES, 16 bytes at its 8-byte alignment
    assertEquals(List.of(B64, BYTES, F64, B64, B32, OTHER, B32), sigs.get("spaced").params());
    List<Integer> offsets = sigs.get("spaced").layout().stream().map(KernelSignature.Param::offset)
        .toList();
    assertEquals(List.of(0, 8, 24, 32, 40, 44, 48), offsets);
    assertEquals(16, sigs.get("spaced").layout().get(1).size());
    assertEquals(2, sigs.get("spaced").layout().get(5).size());
    assertEquals(52, sigs.get("spaced").paramBytes());
    assertTrue(sigs.get("no_params").params().isEmpty());
    assertTrue(sigs.get("bare").params().isEmpty());
  }

  @Test
  void unclosedParameterListIsRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PtxSignatures.parse(".entry broken(.param .u32 a"));
    assertTrue(e.getMessage().contains("broken"), e.getMessage());
  }

  @Test
  void textWithoutEntriesHasNoSignatures() {
    assertTrue(PtxSignatures.parse(".version 8.0\n.func helper() { ret; }").isEmpty());
  }
}
