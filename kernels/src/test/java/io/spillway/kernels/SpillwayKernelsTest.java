package io.spillway.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class SpillwayKernelsTest {

  @Test
  void ptxIsNulTerminatedAndDeclaresEveryFunction() {
    byte[] ptx = SpillwayKernels.ptx();
    assertTrue(ptx.length > 1000, "PTX has " + ptx.length + " bytes");
    assertEquals(0, ptx[ptx.length - 1]);
    assertTrue(ptx[ptx.length - 2] != 0, "exactly one trailing NUL");

    String text = new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII);
    assertTrue(text.contains(".target sm_90"), "built for compute_90");
    Matcher m = Pattern.compile("\\.entry\\s+(\\w+)").matcher(text);
    List<String> entries = new ArrayList<>();
    while (m.find()) {
      entries.add(m.group(1));
    }
    assertEquals(SpillwayKernels.FUNCTIONS, entries);
  }

  @Test
  void ptxReturnsACopy() {
    byte[] a = SpillwayKernels.ptx();
    a[0] = 'X';
    byte[] b = SpillwayKernels.ptx();
    assertNotSame(a, b);
    assertTrue(b[0] != 'X');
  }

  @Test
  void referenceDenseAppliesBiasAndRelu() {
    // x = [[1, 2]], w = [[1, -1], [1, -1]] -> x.w = [3, -3]; bias [0.5, 0.5]
    float[] x = {1, 2};
    float[] w = {1, -1, 1, -1};
    float[] bias = {0.5f, 0.5f};
    assertArrayEquals(new float[] {3.5f, -2.5f}, CpuReference.dense(x, w, bias, 1, 2, 2, false));
    assertArrayEquals(new float[] {3.5f, 0f}, CpuReference.dense(x, w, bias, 1, 2, 2, true));
  }

  @Test
  void referenceSoftmaxIsStableForLargeInputs() {
    float[] y = CpuReference.softmax(new float[] {1000f, 1000f, 0f, Float.NEGATIVE_INFINITY}, 2, 2);
    assertArrayEquals(new float[] {0.5f, 0.5f, 1f, 0f}, y, 1e-6f);
  }

  @Test
  void theDescriptorDeclaresEveryFunctionsPointerAccessOnceAParameterBeforeTheFirstDirective() {
    String text = new String(SpillwayKernels.ptx(), StandardCharsets.US_ASCII);
    String header = text.substring(0, text.indexOf(".version"));
    for (String function : SpillwayKernels.FUNCTIONS) {
      Matcher line = Pattern.compile("(?m)^// spillway\\.pointer-access " + function + " ([a-z,-]+)$")
          .matcher(header);
      assertTrue(line.find(), "a descriptor line for " + function);
      Matcher entry = Pattern.compile("\\.entry " + function + "\\(([^)]*)\\)").matcher(text);
      assertTrue(entry.find(), function + " is an entry");
      long params = entry.group(1).chars().filter(c -> c == ',').count() + 1;
      assertEquals(params, line.group(1).split(",").length, "access per parameter of " + function);
    }
  }
}
