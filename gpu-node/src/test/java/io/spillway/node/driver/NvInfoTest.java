package io.spillway.node.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.node.driver.KernelSignature.ParamType;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Parameter layouts read from a real cubin ({@code nvinfo/params.cubin}, built by nvcc from params.cu). */
class NvInfoTest {

  private static byte[] cubin() throws IOException {
    try (InputStream in = NvInfoTest.class.getResourceAsStream("nvinfo/params.cubin")) {
      return in.readAllBytes();
    }
  }

  @Test
  void readsEveryParametersOffsetAndSizeAsNvccLaidThemOut() throws Exception {
    Map<String, KernelSignature> sigs = NvInfo.parse(cubin(), "params");
    KernelSignature mixed = sigs.get("mixed");
    // mixed(float* out, int n, float scale, Pair p (16 bytes), char tag, Small s (8 bytes), double d)
    assertEquals(List.of(0, 8, 12, 16, 32, 36, 48), mixed.layout().stream().map(KernelSignature.Param::offset).toList());
    assertEquals(List.of(8, 4, 4, 16, 1, 8, 8), mixed.layout().stream().map(KernelSignature.Param::size).toList());
    assertEquals(List.of(ParamType.W64, ParamType.W32, ParamType.W32, ParamType.BYTES, ParamType.OTHER,
        ParamType.W64, ParamType.W64), mixed.params());
    assertEquals(56, mixed.paramBytes());
    assertTrue(sigs.get("none").layout().isEmpty(), "a kernel without parameters has an empty layout");
  }

  @Test
  void aStructParameterTakesOnlyAnArgumentOfItsSize() throws Exception {
    LoadedModule m = new LoadedModule() {
      @Override
      public String name() {
        return "params";
      }

      @Override
      public Map<String, KernelSignature> signatures() {
        try {
          return NvInfo.parse(cubin(), "params");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }

      @Override
      public Map<String, ModuleGlobal> globals() {
        return Map.of();
      }
    };
    KernelSignature sig = m.signatures().get("mixed");
    List<KernelArgument> args = List.of(new KernelArgument.Pointer(0x1000), new KernelArgument.I32(4),
        new KernelArgument.F32(1f), new KernelArgument.F64(2.0), new KernelArgument.I32(1),
        new KernelArgument.I64(3), new KernelArgument.F64(4.0));
    DriverException e = assertThrows(DriverException.class, () -> LaunchChecks.arguments(m, sig, args));
    assertTrue(e.getMessage().contains("struct of 16 bytes"), e.getMessage());
    DriverException count = assertThrows(DriverException.class, () -> LaunchChecks.arguments(m, sig,
        args.subList(0, 6)));
    assertTrue(count.getMessage().contains("expected 7 arguments"), count.getMessage());
  }

  @Test
  void aDamagedImageIsRefusedAsUnverifiableNeverWithAnotherException() throws Exception {
    byte[] good = cubin();
    assertThrows(DriverException.class, () -> NvInfo.parse(Arrays.copyOf(good, 100), "cut"));
    assertThrows(DriverException.class, () -> NvInfo.parse("not an elf".getBytes(), "text"));
    Random random = new Random(6);
    for (int round = 0; round < 2000; round++) {
      byte[] bad = good.clone();
      for (int i = 0; i < 4; i++) {
        bad[random.nextInt(bad.length)] = (byte) random.nextInt(256);
      }
      try {
        NvInfo.parse(bad, "mutated");
      } catch (DriverException expected) {
        assertEquals(DriverException.Kind.INVALID, expected.kind());
      }
    }
  }
}
