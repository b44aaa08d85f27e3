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
 * started (SIGTERM, then SIGKILL) and deletes the logs; a shutdown hook does the same on Ctrl-C.
 */
public final class Site implements AutoCloseable {

  /** Something to check on a component's HTTP answer before it counts as ready. */
  public interface Check {
    boolean ok(String body) throws Exception;
  }

  private final Path logs;
  private final List<ChildProcess> children = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "spillway-site-shutdown");
  private boolean closed;
  private volatile boolean keepLogs;

  public Site(Path tmp) throws IOException {
    this.logs = Files.createTempDirectory(tmp, "spillway-");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  public Path logs() {
    return logs;
  }

  /** Leaves the log directory in place on close (to read after a failed run). */
  public void keepLogs(boolean keep) {
    this.keepLogs = keep;
  }

  /** Starts a component of this code base in its own JVM and waits for its {@code READY} line. */
  public ChildProcess startJava(String name, String mainClass, List<String> args) throws Exception {
    ChildProcess child = ChildProcess.start(name, mainClass, args, logs);
    synchronized (this) {
      children.add(child);
    }
    child.awaitReady(90, TimeUnit.SECONDS);
    return child;
  }

  /** Starts a process from a full command line and returns its address, once it printed it. */
  public String start(String name, List<String> command) throws Exception {
    return startProcess(name, command).awaitReady(90, TimeUnit.SECONDS);
  }

  /** Starts a process from a full command line and waits until it printed its {@code READY} line. */
  public ChildProcess startProcess(String name, List<String> command) throws Exception {
    ChildProcess child = ChildProcess.start(name, command, logs);
    synchronized (this) {
      children.add(child);
    }
    child.awaitReady(90, TimeUnit.SECONDS);
    return child;
  }

  /**
   * Starts a component again with the command line it was first started with (killing what is left of
   * it first), and waits for its {@code READY} line. Its log goes on in the same file.
   */
  public ChildProcess restart(ChildProcess old) throws Exception {
    if (old.isAlive()) {
      old.kill();
    }
    ChildProcess child = ChildProcess.start(old.name(), old.command(), logs);
    synchronized (this) {
      children.remove(old);
      children.add(child);
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
    if (keepLogs) {
      System.err.println("logs kept in " + logs);
      return;
    }
    try (var files = Files.list(logs)) {
      for (Path p : files.toList()) {
        Files.deleteIfExists(p);
      }
      Files.deleteIfExists(logs);
    } catch (IOException e) {
      System.err.println("could not remove " + logs + ": " + e.getMessage());
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
