package io.spillway.simulator.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Any text given to the trace parser either parses or is refused with a {@link TraceFormatException}
 * naming a line of the text and a column of that line (1-based); nothing else escapes (a sizing
 * exception, an index). What parses writes back ({@link TraceCsv#write}) to a trace that parses to the
 * same sessions. Seeds: the format's example, comments and CRLF lines, a bad row, and each finding.
 */
class TraceCsvFuzzTest {

  @FuzzTest(maxDuration = "20s")
  void parse(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    List<TraceSession> sessions;
    try {
      sessions = TraceCsv.parse(text, "fuzz.csv");
    } catch (TraceFormatException refused) {
      String[] lines = text.split("\r?\n", -1);
      assertTrue(refused.line() >= 1 && refused.line() <= lines.length, "line inside the text: " + refused);
      assertTrue(refused.column() >= 1 && refused.column() <= lines[refused.line() - 1].length() + 1,
          "column inside its line: " + refused);
      return;
    }
    StringWriter out = new StringWriter();
    try {
      TraceCsv.write(sessions, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<TraceSession> again;
    try {
      again = TraceCsv.parse(out.toString(), "again.csv");
    } catch (TraceFormatException e) {
      throw new AssertionError("a written trace does not parse back: " + e.getMessage() + "\n" + out, e);
    }
    assertEquals(sessions.size(), again.size());
    for (int i = 0; i < sessions.size(); i++) {
      TraceSession a = sessions.get(i);
      TraceSession b = again.get(i);
      // == on doubles: -0 written as 0 is the same arrival.
      assertTrue(a.arrivalSeconds() == b.arrivalSeconds() && a.durationSeconds() == b.durationSeconds(),
          a + " vs " + b);
      assertEquals(List.of(a.tenant(), a.memoryBytes(), a.computePercent(), a.models()),
          List.of(b.tenant(), b.memoryBytes(), b.computePercent(), b.models()));
    }
  }
}
