package io.spillway.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A Spillway component in its own JVM, started from this JVM's class path. It announces that it is
 * ready by printing {@code READY host:port}; everything it prints goes to its log file.
 */
public final class ChildProcess implements AutoCloseable {

  private final String name;
  private final Process process;
  private final CompletableFuture<String> ready = new CompletableFuture<>();
  private final Path log;
  private final List<String> command;

  private ChildProcess(String name, Process process, Path log, List<String> command) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.command = List.copyOf(command);
  }

  /** Starts {@code mainClass} with {@code args}; its output goes to {@code logDir/name.log}. */
  public static ChildProcess start(String name, String mainClass, List<String> args, Path logDir)
      throws IOException {
    return start(name, javaCommand(mainClass, args), logDir);
  }

  /** The command line that runs {@code mainClass} of this JVM's class path in a JVM of its own. */
  static List<String> javaCommand(String mainClass, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    cmd.addAll(args);
    return cmd;
  }

  /**
   * Starts a full command line; its output goes to {@code logDir/name.log} (appended to, so the log of a
   * component started again keeps what its earlier incarnation printed).
   */
  public static ChildProcess start(String name, List<String> cmd, Path logDir) throws IOException {
    Path log = logDir.resolve(name + ".log");
    if (Files.exists(log)) {
      Files.writeString(log, "---- started again: " + java.time.Instant.now() + " ----"
          + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    ChildProcess child = new ChildProcess(name, p, log, cmd);
    Thread pump = new Thread(child::pump, name + "-output");
    pump.setDaemon(true);
    pump.start();
    return child;
  }

  private void pump() {
    try (BufferedReader in = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.APPEND), true)) {
      String line;
      while ((line = in.readLine()) != null) {
        out.println(line);
        if (line.startsWith("READY ")) {
          ready.complete(line.substring(6).trim());
        }
      }
    } catch (IOException e) {
      ready.completeExceptionally(e);
    }
    ready.completeExceptionally(new IllegalStateException(name + " exited with code "
        + exitCode() + " before it was ready; see " + Federation.display(log)));
  }

  private String exitCode() {
    try {
      return String.valueOf(process.waitFor());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  /** Waits until the child printed its address. */
  public String awaitReady(long timeout, TimeUnit unit) throws Exception {
    try {
      return ready.get(timeout, unit);
    } catch (TimeoutException e) {
      throw new IllegalStateException(name + " was not ready after " + unit.toSeconds(timeout) + " s; see "
          + Federation.display(log), e);
    }
  }

  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /**
   * Calls {@code onExit} with the exit code once the process has ended (at once if it has); a process
   * ended by signal N reports 128 + N. Runs on a JDK thread: it must not block.
   */
  public void onExit(java.util.function.IntConsumer onExit) {
    process.onExit().thenAccept(p -> onExit.accept(p.exitValue()));
  }

  /** The command line it was started with; starting it again runs the same component. */
  public List<String> command() {
    return command;
  }

  /** Its log file (everything it printed, every incarnation). */
  public Path log() {
    return log;
  }

  /** The last {@code lines} lines of its log, for diagnosing a failure; empty if there is none. */
  public String tail(int lines) {
    return tail(log, lines);
  }

  /** The last {@code lines} lines of {@code log}, or why it cannot be read. */
  static String tail(Path log, int lines) {
    Deque<String> last = new ArrayDeque<>();
    try (BufferedReader in = Files.newBufferedReader(log, StandardCharsets.UTF_8)) {
      String line;
      while ((line = in.readLine()) != null) {
        last.addLast(line);
        if (last.size() > lines) {
          last.removeFirst();
        }
      }
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e.getMessage() + ")";
    }
    return String.join(System.lineSeparator(), last);
  }

  /**
   * Sends a POSIX signal by name ({@code STOP}, {@code CONT}, ...) with {@code kill}; for pausing a
   * process without killing it.
   */
  public void signal(String signal) throws IOException, InterruptedException {
    Process k = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid()))
        .redirectErrorStream(true).start();
    if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
      throw new IOException("kill -" + signal + " " + process.pid() + " failed: "
          + new String(k.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
    }
  }

  /** SIGKILL: the process dies at once, as when a server loses power. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /** SIGTERM, then SIGKILL after five seconds. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
