package io.spillway.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;

/**
 * {@code spillway ARGS} in a process of its own, as a user runs it: its standard output and error are
 * kept line by line (each tagged), so a test can wait for a line and check the console as a whole.
 */
final class Launched implements AutoCloseable {
  final Process process;
  private final List<String> lines = new ArrayList<>();

  private Launched(Process process) {
    this.process = process;
    pump(process.getInputStream(), "");
    pump(process.getErrorStream(), "err| ");
  }

  static Launched spillway(String... args) throws IOException {
    Path home = Path.of(System.getProperty("spillway.home", "..")).toAbsolutePath().normalize();
    for (String app : List.of("edge-gateway", "center-gateway")) {
      Assumptions.assumeTrue(Files.isRegularFile(home.resolve(app + "/target/quarkus-app/quarkus-run.jar")),
          app + " is not packaged (run the build's package phase, as verify does)");
    }
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-Dspillway.home=" + home, "-cp", System.getProperty("java.class.path"),
        SpillwayCommand.class.getName()));
    cmd.addAll(List.of(args));
    return new Launched(new ProcessBuilder(cmd).start());
  }

  private void pump(java.io.InputStream in, String tag) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (lines) {
            lines.add(tag + line);
            lines.notifyAll();
          }
        }
      } catch (IOException ignored) {
        // the process ended
      }
    }, "launched-output");
    t.setDaemon(true);
    t.start();
  }

  /** Waits for a line that {@code match} accepts (standard error lines start with {@code err| }). */
  String await(Predicate<String> match, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    synchronized (lines) {
      while (true) {
        for (String l : lines) {
          if (match.test(l)) {
            return l;
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0 || (!process.isAlive() && !lines.isEmpty() && ended())) {
          throw new AssertionError("no such line within " + seconds + " s; the output:\n" + output());
        }
        lines.wait(Math.max(1, Math.min(500, TimeUnit.NANOSECONDS.toMillis(left))));
      }
    }
  }

  private boolean ended() {
    try {
      return process.waitFor(0, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      return true;
    }
  }

  List<String> lines() {
    synchronized (lines) {
      return List.copyOf(lines);
    }
  }

  String output() {
    return String.join("\n", lines());
  }

  /** Waits for the process to end by itself and for its output to be read. */
  int waitFor(long seconds) throws InterruptedException {
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      throw new AssertionError("spillway still runs after " + seconds + " s; the output:\n" + output());
    }
    Thread.sleep(200);
    return process.exitValue();
  }

  /** Ends it and whatever it started (after a failed test). */
  @Override
  public void close() {
    List<ProcessHandle> children = process.descendants().toList();
    process.destroyForcibly();
    children.forEach(ProcessHandle::destroyForcibly);
  }
}
