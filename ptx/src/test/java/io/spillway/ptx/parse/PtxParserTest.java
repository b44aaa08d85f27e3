package io.spillway.ptx.parse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.kernels.SpillwayKernels;
import io.spillway.ptx.PtxException;
import io.spillway.ptx.PtxFunction;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.PtxParam;
import io.spillway.ptx.PtxVariable;
import io.spillway.ptx.exec.Decoder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class PtxParserTest {

  private static String corpus(String name) throws IOException {
    try (InputStream in = PtxParserTest.class.getResourceAsStream("/io/spillway/ptx/corpus/" + name
        + ".ptx")) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
  }

  private static String kernel(String body) {
    return ".version 8.0\n.target sm_90\n.address_size 64\n.visible .entry k(.param .u64 p)\n{\n"
        + body + "\n}\n";
  }

  @Test
  void readsTheLibraryAndEveryCorpusModuleAndDecodesThem() throws Exception {
    byte[] lib = SpillwayKernels.ptx();
    PtxModule m = PtxParser.parse(new String(lib, 0, lib.length - 1, StandardCharsets.US_ASCII));
    assertEquals(SpillwayKernels.FUNCTIONS, m.entries().stream().map(PtxFunction::name).toList());
    assertEquals("9.0", m.version());
    assertEquals(5, Decoder.decodeAll(m, v -> 0).size());
    for (String name : List.of("matmul_tiled", "reduce_shfl", "histogram", "struct_param",
        "device_call", "dynamic_shared", "grid_stride", "constant_mem", "double_precision",
        "int_divmod", "divergent_branch")) {
      PtxModule c = PtxParser.parse(corpus(name));
      assertFalse(Decoder.decodeAll(c, v -> 1L << 48).isEmpty(), name);
    }
  }

  @Test
  void structParametersAreLaidOutAsCudaDoes() throws Exception {
    PtxFunction affine = PtxParser.parse(corpus("struct_param")).entries().get(0);
    List<PtxParam> p = affine.params();
    assertEquals(List.of(0, 32, 40), p.stream().map(PtxParam::offset).toList());
    assertTrue(p.get(0).array());
    assertEquals(32, p.get(0).size());
    assertEquals(8, p.get(0).align());
    assertEquals(48, affine.paramBytes());
  }

  @Test
  void moduleVariablesKeepTheirInitializers() throws Exception {
    PtxModule m = PtxParser.parse(corpus("constant_mem"));
    PtxVariable table = m.variables().stream().filter(v -> v.name().equals("table")).findFirst()
        .orElseThrow();
    assertEquals(PtxVariable.Space.GLOBAL, table.space());
    assertArrayEquals(new byte[] {0, 0, (byte) 128, 63, 0, 0, 0, 64, 0, 0, (byte) 128, 64, 0, 0, 0, 65},
        table.init());
    PtxVariable degree = m.variables().stream().filter(v -> v.name().equals("degree")).findFirst()
        .orElseThrow();
    assertEquals(PtxVariable.Space.CONST, degree.space());
    assertArrayEquals(new byte[] {3, 0, 0, 0}, degree.init());
  }

  @Test
  void unterminatedCommentNamesWhereItOpened() {
    String text = ".version 8.0\n\n/* never closed\n" + "x ".repeat(200_000);
    PtxException e = assertThrows(PtxException.class, () -> PtxParser.parse(text));
    assertEquals(3, e.line());
    assertTrue(e.getMessage().contains("/* is not closed"), e.getMessage());
  }

  @Test
  void manyUnterminatedCommentOpenersAreReadOnce() {
    // the regex reader this replaced re-scanned from every "/*": quadratic on this input
    String text = ".version 8.0\n" + "/*".repeat(1 << 20);
    assertThrows(PtxException.class, () -> PtxParser.parse(text));
  }

  @Test
  void deeplyNestedScopesAreRefused() {
    String text = kernel("{".repeat(100) + "}".repeat(100));
    PtxException e = assertThrows(PtxException.class, () -> PtxParser.parse(text));
    assertTrue(e.getMessage().contains("nested deeper than 64"), e.getMessage());
  }

  @Test
  void unclosedBodyIsRefused() {
    PtxException e = assertThrows(PtxException.class, () -> PtxParser.parse(
        ".version 8.0\n.visible .entry k()\n{\n ret;\n"));
    assertTrue(e.getMessage().contains("is not closed"), e.getMessage());
    assertEquals(3, e.line());
  }

  @Test
  void undefinedLabelIsALoadError() throws Exception {
    PtxModule m = PtxParser.parse(kernel("  bra $L_nowhere;\n  ret;"));
    PtxException e = assertThrows(PtxException.class, () -> Decoder.decodeAll(m, v -> 0));
    assertTrue(e.getMessage().contains("undefined label $L_nowhere"), e.getMessage());
    assertEquals(6, e.line());
  }

  @Test
  void registerUsedBeforeItIsDeclaredIsALoadError() throws Exception {
    PtxModule m = PtxParser.parse(kernel("  add.s32 %r1, %r1, 1;\n  .reg .b32 %r<2>;\n  ret;"));
    PtxException e = assertThrows(PtxException.class, () -> Decoder.decodeAll(m, v -> 0));
    assertTrue(e.getMessage().contains("register %r1 is used in 'add.s32' but not declared before it"),
        e.getMessage());
    assertEquals(6, e.line());
  }

  @Test
  void hugeRegisterDeclarationsAreRefused() throws Exception {
    PtxModule m = PtxParser.parse(kernel("  .reg .b32 %r<1000000>;\n  ret;"));
    PtxException e = assertThrows(PtxException.class, () -> Decoder.decodeAll(m, v -> 0));
    assertTrue(e.getMessage().contains("exceeds 65536 registers"), e.getMessage());
  }

  @Test
  void unsupportedInstructionNamesItselfItsLineAndItsKernel() throws Exception {
    PtxModule m = PtxParser.parse(kernel("  .reg .b32 %r<3>;\n  mul24.lo.s32 %r1, %r2, %r2;\n  ret;"));
    PtxException e = assertThrows(PtxException.class, () -> Decoder.decodeAll(m, v -> 0));
    assertTrue(e.unsupported());
    assertEquals("PTX line 7: kernel k: instruction 'mul24.lo.s32' is not supported by the host"
        + " executor", e.getMessage());
  }

  @Test
  void recursionIsRefused() throws Exception {
    String text = ".version 8.0\n.address_size 64\n"
        + ".func f()\n{\n call f;\n ret;\n}\n"
        + ".visible .entry k()\n{\n call f;\n ret;\n}\n";
    PtxException e = assertThrows(PtxException.class,
        () -> Decoder.decodeAll(PtxParser.parse(text), v -> 0));
    assertTrue(e.getMessage().contains("recursive call to f"), e.getMessage());
  }

  @Test
  void largeModulesParse() throws Exception {
    StringBuilder sb = new StringBuilder(".version 8.0\n.address_size 64\n");
    for (int i = 0; i < 2000; i++) {
      sb.append(".visible .entry k").append(i).append("(.param .u64 p, .param .align 8 .b8 s[24])\n{\n")
          .append("  .reg .b64 %rd<3>;\n  ld.param.u64 %rd1, [p];\n  ld.param.u64 %rd2, [s+16];\n")
          .append("  st.global.u64 [%rd1], %rd2; // comment\n  /* block */ ret;\n}\n");
    }
    PtxModule m = PtxParser.parse(sb.toString());
    assertEquals(2000, m.entries().size());
    assertEquals(2000, Decoder.decodeAll(m, v -> 0).size());
  }
}
