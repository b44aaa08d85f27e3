package io.spillway.topology.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.spillway.topology.Problem;
import io.spillway.topology.TopologyException;
import io.spillway.topology.TopologyLoader;
import java.nio.charset.StandardCharsets;

/**
 * Any text given to the topology loader either loads or is refused with a {@link TopologyException}
 * whose problems each name the file and a line and column inside the text (1-based, as compilers do)
 * and say what is wrong; no other exception escapes (Jackson's, a number format, an index, a stack
 * overflow from deep nesting). Seeds: the example topologies, and each finding's input.
 */
class TopologyFuzzTest {

  @FuzzTest(maxDuration = "20s")
  void load(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    try {
      TopologyLoader.parse(text, "fuzz.yaml");
    } catch (TopologyException refused) {
      assertFalse(refused.problems().isEmpty());
      long lines = text.lines().count();
      for (Problem p : refused.problems()) {
        assertTrue(p.file().equals("fuzz.yaml"), p.toString());
        assertTrue(p.line() >= 1 && p.line() <= lines + 1, "line inside the text: " + p);
        assertTrue(p.column() >= 1, "column: " + p);
        assertTrue(p.message() != null && !p.message().isBlank(), "says what is wrong: " + p);
      }
    }
  }
}
