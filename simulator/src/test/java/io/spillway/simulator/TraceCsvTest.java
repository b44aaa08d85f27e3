package io.spillway.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.spillway.simulator.trace.TraceCsv;
import io.spillway.simulator.trace.TraceFormatException;
import io.spillway.simulator.trace.TraceGenerator;
import io.spillway.simulator.trace.TraceSession;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

class TraceCsvTest {

  private static final String HEADER = "arrival_s,duration_s,tenant,memory,compute_percent,models\n";

  @Test
  void readsSizesInBytesOrUnitsAndModelLists() throws Exception {
    List<TraceSession> trace = TraceCsv.parse(HEADER
        + "# a comment, then a blank line\n\n"
        + "0,1260,search-ranking,8GiB,25,\n"
        + "4.5,600,ocr,4294967296,10,V100|P40\n", "t.csv");
    assertEquals(2, trace.size());
    assertEquals(new TraceSession(0, 1260, "search-ranking", 8L << 30, 25, List.of(), "t.csv:4"), trace.get(0));
    assertEquals(new TraceSession(4.5, 600, "ocr", 4L << 30, 10, List.of("V100", "P40"), "t.csv:5"), trace.get(1));
  }

  @Test
  void writtenTracesReadBackExactly() throws Exception {
    List<TraceSession> generated = TraceGenerator.generate(
        TraceGenerator.Settings.defaults(List.of("a", "b")).withMinutes(30).withModelLabels(List.of("V100"), 0.5));
    StringWriter out = new StringWriter();
    TraceCsv.write(generated, out);
    List<TraceSession> read = TraceCsv.parse(out.toString(), "g.csv");
    assertEquals(generated.size(), read.size());
    for (int i = 0; i < read.size(); i++) {
      TraceSession g = generated.get(i);
      assertEquals(new TraceSession(g.arrivalSeconds(), g.durationSeconds(), g.tenant(), g.memoryBytes(),
          g.computePercent(), g.models(), "g.csv:" + (i + 2)), read.get(i));
    }
  }

  @Test
  void errorsNameTheLineTheColumnAndWhatIsAccepted() {
    assertError("t.csv:3:12: memory: \"8 GiBs\" is not a size: unknown unit \"GiBs\"",
        HEADER + "0,60,a,1GiB,10,\n" + "10,60,acme,8 GiBs,10,\n");
    assertError("t.csv:2:3: duration_s: \"ten\" is not a number; expected seconds > 0",
        HEADER + "0,ten,a,1GiB,10,\n");
    assertError("t.csv:2:3: duration_s: 0 is out of range; expected seconds > 0",
        HEADER + "0,0,a,1GiB,10,\n");
    assertError("t.csv:2:1: arrival_s: -1 is out of range; expected seconds >= 0",
        HEADER + "-1,60,a,1GiB,10,\n");
    assertError("t.csv:2:13: compute_percent: 120 is out of range; expected 0..100",
        HEADER + "0,60,a,1GiB,120,\n");
    assertError("t.csv:2:14: compute_percent: \"1/2\" is not an integer; expected 0..100",
        HEADER + "0,60,a,1GiB, 1/2,\n");
    assertError("t.csv:2:6: tenant: is empty; expected a tenant of the topology",
        HEADER + "0,60,,1GiB,10,\n");
    assertError("t.csv:2:16: models: \"V100||P40\" has an empty model; expected models separated by |",
        HEADER + "0,60,a,1GiB,10,V100||P40\n");
    assertError("t.csv:2:15: expected 6 fields (arrival_s,duration_s,tenant,memory,compute_percent,models), found 5",
        HEADER + "0,60,a,1GiB,10\n");
    assertError("t.csv:2:17: expected 6 fields", HEADER + "0,60,a,1GiB,10,,x\n");
    assertError("t.csv:1:1: header: expected `arrival_s,duration_s,tenant,memory,compute_percent,models`, "
        + "found `arrival,duration`", "arrival,duration\n0,60\n");
    assertError("t.csv:1:1: header: the trace is empty", "# nothing\n");
  }

  private static void assertError(String expectedPrefix, String csv) {
    TraceFormatException e = assertThrows(TraceFormatException.class, () -> TraceCsv.parse(csv, "t.csv"));
    if (!e.getMessage().startsWith(expectedPrefix)) {
      throw new AssertionError("expected a message starting with\n  " + expectedPrefix + "\nbut got\n  "
          + e.getMessage());
    }
  }
}
