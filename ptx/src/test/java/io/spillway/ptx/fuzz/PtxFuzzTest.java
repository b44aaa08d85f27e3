package io.spillway.ptx.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.spillway.ptx.PtxException;
import io.spillway.ptx.PtxFunction;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.PtxParam;
import io.spillway.ptx.exec.Decoder;
import io.spillway.ptx.exec.Kernel;
import io.spillway.ptx.parse.PtxParser;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Any text given to the PTX front end either parses and decodes, or is refused with a
 * {@link PtxException}; nothing else escapes (no index, arithmetic, or stack overflow error), and what
 * parses has a parameter buffer laid out as CUDA lays it out: each parameter aligned, in order, without
 * overlap, inside {@code paramBytes}. Seeds: {@code PtxFuzzTestInputs/parseAndDecode/}, small kernels
 * from the library and the corpus, and each finding's input.
 */
class PtxFuzzTest {

  @FuzzTest(maxDuration = "20s")
  void parseAndDecode(byte[] input) {
    // Modules arrive as bytes from the client; the driver reads them as Latin-1 text.
    String text = new String(input, StandardCharsets.ISO_8859_1);
    PtxModule module;
    try {
      module = PtxParser.parse(text);
    } catch (PtxException refused) {
      assertTrue(refused.getMessage() != null && !refused.getMessage().isBlank(), "a refusal says why");
      return;
    }
    for (PtxFunction f : module.functions()) {
      int end = 0;
      for (PtxParam p : f.params()) {
        assertTrue(p.align() > 0 && Integer.bitCount(p.align()) == 1, f.name() + ": alignment " + p.align());
        assertEquals(0, p.offset() % p.align(), f.name() + "." + p.name() + " is aligned");
        assertTrue(p.offset() >= end, f.name() + "." + p.name() + " does not overlap the one before");
        end = p.offset() + p.size();
      }
      if (f.entry()) {
        assertTrue(f.paramBytes() >= end, f.name() + ": paramBytes " + f.paramBytes() + " < " + end);
      }
    }
    Map<String, Kernel> kernels;
    try {
      kernels = Decoder.decodeAll(module, v -> 1L << 48);
    } catch (PtxException refused) {
      return;
    }
    for (PtxFunction f : module.entries()) {
      assertTrue(f.body() == null || kernels.containsKey(f.name()), "kernel " + f.name() + " is decoded");
    }
  }
}
