package io.spillway.launcher;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The processes of a federation on this machine and their logs. Closing it stops every process it
 * started (SIGTERM, then SIGKILL), newest first, and deletes the logs if they are in a temporary
 * directory; a shutdown hook does the same on Ctrl-C. A component started again keeps its place in
 * that order, so processes stop after the ones started after them (their clients).
 *
 * <p>Thread-safe. Once closed it starts nothing: a start racing with close either is stopped by it or
 * fails.
 */
public final class Site implements AutoCloseable {

  /** Something to check on a component's HTTP answer before it counts as ready. */
  public interface Check {
    boolean ok(String body) throws Exception;
  }

  private final Path logs;
  private final boolean detach;
  /** The logs are in a directory of our own making, to remove on close. */
  private final boolean temporary;
  private final List<ChildProcess> children = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "spillway-site-shutdown");
  private boolean closed;
  private volatile boolean keepLogs;

  /** Logs in a new temporary directory under {@code tmp}, deleted on close unless {@link #keepLogs}. */
  public Site(Path tmp) throws IOException {
    this.logs = Files.createTempDirectory(tmp, "spillway-");
    this.detach = false;
    this.temporary = true;
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /**
   * Logs in {@code logs} (created if needed), kept on close.
   *
   * @param detach start every process in a session of its own ({@code setsid}), so that Ctrl-C in a
   *     terminal reaches this JVM only and it stops them in order; a process whose launcher is killed
   *     outright then stays up, and the next run's port check names it
   */
  public Site(Path logs, boolean detach) throws IOException {
    this.logs = Files.createDirectories(logs);
    this.detach = detach && Files.isExecutable(SETSID);
    this.temporary = false;
    Runtime.getRuntime().addShutdownHook(hook);
  }

  private static final Path SETSID = Path.of("/usr/bin/setsid");

  public Path logs() {
    return logs;
  }

  /** Leaves the log directory in place on close (to read after a failed run). */
  public void keepLogs(boolean keep) {
    this.keepLogs = keep;
  }

  /** Starts a component of this code base in its own JVM and waits for its {@code READY} line. */
  public ChildProcess startJava(String name, String mainClass, List<String> args) throws Exception {
    return startProcess(name, ChildProcess.javaCommand(mainClass, args));
  }

  /** Starts a process from a full command line and returns its address, once it printed it. */
  public String start(String name, List<String> command) throws Exception {
    return startProcess(name, command).awaitReady(90, TimeUnit.SECONDS);
  }

  /** Starts a process from a full command line and waits until it printed its {@code READY} line. */
  public ChildProcess startProcess(String name, List<String> command) throws Exception {
    List<String> cmd = command;
    if (detach && !command.get(0).equals(SETSID.toString())) {
      cmd = new ArrayList<>(command);
      cmd.add(0, SETSID.toString());
    }
    ChildProcess child;
    synchronized (this) {
      refuseIfClosed(name);
      child = ChildProcess.start(name, cmd, logs);
      children.add(child);
    }
    child.awaitReady(90, TimeUnit.SECONDS);
    return child;
  }

  private void refuseIfClosed(String name) {
    if (closed) {
      throw new IllegalStateException("not starting " + name + ": the site is stopping");
    }
  }

  /**
   * Starts a component again with the command line it was first started with (killing what is left of
   * it first), and waits for its {@code READY} line. Its log goes on in the same file.
   */
  public ChildProcess restart(ChildProcess old) throws Exception {
    if (old.isAlive()) {
      old.kill();
    }
    ChildProcess child;
    synchronized (this) {
      refuseIfClosed(old.name());
      child = ChildProcess.start(old.name(), old.command(), logs);
      int at = children.indexOf(old);
      if (at >= 0) {
        children.set(at, child);
      } else {
        children.add(child);
      }
    }
    child.awaitReady(90, TimeUnit.SECONDS);
    return child;
  }

  /** Polls {@code url} until it answers 200 and {@code check} accepts the body (at most 60 s). */
  public void awaitHttp(String url, Check check) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && check.ok(r.body())) {
          return;
        }
        last = r.statusCode() + " " + r.body();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(url + " was not ready after 60 s: " + last + " (logs: " + logs + ")");
  }

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private synchronized void stopAll() {
    if (closed) {
      return;
    }
    closed = true;
    for (int i = children.size() - 1; i >= 0; i--) {
      children.get(i).close();
    }
    if (!temporary) {
      return;
    }
    if (keepLogs) {
      System.err.println("logs kept in " + logs);
      return;
    }
    // The whole tree: the run's pki/ and auth/ folders hold private keys and tokens.
    try (var files = Files.walk(logs)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      System.err.println("could not remove " + logs + ": " + e.getMessage());
    }
  }

  /**
   * Leaves stopping on JVM exit to the caller, whose own shutdown hook must then close this site (so
   * that it can first stop what would start processes again, and report what it stops).
   */
  void leaveShutdownToCaller() {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook runs already.
    }
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook is running or will run; it finds the site closed.
    }
  }
}
