package io.spillway.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code spillway demo FILE} as a user runs it, standard output and error both: the console tells the
 * story (progress, events, result tables) and no log record reaches it; the records are in the run's
 * log folder.
 */
class DemoConsoleTest {

  /** The shapes of a log record's lines: java.util.logging, JBoss/Quarkus, SLF4J simple, and stack traces. */
  private static final List<Pattern> LOG_RECORD = List.of(
      Pattern.compile("^[A-Z][a-z]{2} \\d{1,2}, \\d{4} \\d{1,2}:\\d{2}:\\d{2} [AP]M .*"),
      Pattern.compile("^(SEVERE|WARNING|INFO|CONFIG|FINE|FINER|FINEST): .*"),
      Pattern.compile("^\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}:\\d{2}[,.]\\d{3}.*(TRACE|DEBUG|INFO|WARN|ERROR).*"),
      Pattern.compile("^\\[[^\\]]+\\] (TRACE|DEBUG|INFO|WARN|ERROR) .*"),
      Pattern.compile("^\\s+at [\\w.$/]+\\(.*\\)$"),
      Pattern.compile(".*spillway notice:.*"));

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void theConsoleShowsTheStoryAndNoLogRecords(@TempDir Path dir) throws Exception {
    SmallTopology t = new SmallTopology(dir);
    Path logs = dir.resolve("logs");
    // Two 12GiB slices fit the edge's card: of four sessions two spill, and the two on the edge move to
    // the center when its GPU server is killed.
    try (Launched demo = Launched.spillway("demo", t.file.toString(), "--driver", "host", "--sessions-per-edge", "4",
        "--requests", "6", "--logs", logs.toString())) {
      int exit = demo.waitFor(420);
      String out = demo.output();
      assertEquals(0, exit, out);
      for (String line : demo.lines()) {
        String text = line.startsWith("err| ") ? line.substring(5) : line;
        for (Pattern p : LOG_RECORD) {
          assertTrue(!p.matcher(text).matches(), "a log record on the console: " + line + "\n" + out);
        }
      }
      assertTrue(out.contains("  starting the federation: 1 of 5, kafka"), out);
      assertTrue(out.contains("  federation up: 5 components"), out);
      assertTrue(out.contains("  4 sessions open in "), out);
      assertTrue(Pattern.compile("(?m)^  edge-a-gpu killed; 2 sessions moved to the center in \\d+\\.\\d s, "
          + "clients saw no error$").matcher(out).find(), out);
      assertTrue(out.contains("| pool | requests | p50 ms | p99 ms |"), out);
      assertTrue(out.contains("| pool | node | gpu | model | memory allocated | sessions |"), out);
      assertTrue(out.contains("RESULT: every result correct"), out);
      String own = Files.readString(logs.resolve("spillway.log"));
      assertTrue(own.contains("spillway notice: "), "the SDK's notices go to the run's log: " + own);
      assertTrue(Files.isRegularFile(logs.resolve("edge-a.log")), "the components' logs outlive the run");
    }
  }
}
