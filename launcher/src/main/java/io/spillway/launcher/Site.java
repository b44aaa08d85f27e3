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
final class Site implements AutoCloseable {

  /** Something to check on a component's HTTP answer before it counts as ready. */
  interface Check {
    boolean ok(String body) throws Exception;
  }

  private final Path logs;
  private final List<ChildProcess> children = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "spillway-site-shutdown");
  private boolean closed;

  Site(Path tmp) throws IOException {
    this.logs = Files.createTempDirectory(tmp, "spillway-");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  Path logs() {
    return logs;
  }

  /** Starts a component of this code base in its own JVM and waits for its {@code READY} line. */
  ChildProcess startJava(String name, String mainClass, List<String> args) throws Exception {
    ChildProcess child = ChildProcess.start(name, mainClass, args, logs);
    children.add(child);
    child.awaitReady(90, TimeUnit.SECONDS);
    return child;
  }

  /** Starts a process from a full command line and returns its address, once it printed it. */
  String start(String name, List<String> command) throws Exception {
    return startProcess(name, command).awaitReady(90, TimeUnit.SECONDS);
  }

  /** Starts a process from a full command line and waits until it printed its {@code READY} line. */
  ChildProcess startProcess(String name, List<String> command) throws Exception {
    ChildProcess child = ChildProcess.start(name, command, logs);
    children.add(child);
    child.awaitReady(90, TimeUnit.SECONDS);
    return child;
  }

  /** Polls {@code url} until it answers 200 and {@code check} accepts the body (at most 60 s). */
  void awaitHttp(String url, Check check) throws Exception {
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

  static int freePort() throws IOException {
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
