package io.spillway.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.logging.FileHandler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Where a run of {@code spillway up} or {@code demo} keeps its logs: one folder per run, under
 * {@code ./spillway-logs} unless {@code --logs} names one, holding a log per component and
 * {@code spillway.log} for this JVM's own log records, which never go to the console.
 */
final class RunLogs {
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
  /** Held so that the level set on it is not lost when the logger is collected. */
  private static Logger sdk;

  private RunLogs() {}

  /** {@code given}, or {@code ./spillway-logs/<what>-<yyyyMMdd-HHmmss>}. */
  static Path folder(Path given, String what) {
    if (given != null) {
      return given;
    }
    return Path.of("spillway-logs", what + "-" + LocalDateTime.now().format(STAMP));
  }

  /**
   * Sends every java.util.logging record of this JVM (the SDK's, gRPC's) to {@code dir/spillway.log}
   * instead of the console; the SDK's notices are recorded too (at FINE).
   */
  static void routeToFile(Path dir) throws IOException {
    Files.createDirectories(dir);
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    FileHandler file = new FileHandler(dir.resolve("spillway.log").toString(), true);
    file.setFormatter(new SimpleFormatter());
    file.setLevel(Level.ALL);
    root.addHandler(file);
    root.setLevel(Level.INFO);
    sdk = Logger.getLogger("io.spillway.client");
    sdk.setLevel(Level.FINE);
  }
}
