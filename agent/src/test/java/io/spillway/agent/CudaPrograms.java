package io.spillway.agent;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The CUDA test programs of cuda-shim/src/test/cuda, compiled with nvcc's defaults (static runtime, default
 * architecture) into agent/target/cuda-programs, and the shim they run against. Where nvcc is missing the
 * tests that need them are skipped with a message that says so.
 */
final class CudaPrograms {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path SOURCES = ROOT.resolve("cuda-shim/src/test/cuda");
  static final Path SHIM = ROOT.resolve("cuda-shim/target/lib");
  static final Path OUT = Path.of("target/cuda-programs").toAbsolutePath();

  private CudaPrograms() {
  }

  static boolean nvccPresent() {
    try {
      Process p = new ProcessBuilder("nvcc", "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The program built from {@code name}.cu with {@code flags}; skips the test when nvcc is absent. */
  static synchronized Path build(String name, String... flags) throws IOException, InterruptedException {
    assumeTrue(nvccPresent(), "nvcc is not on the PATH: the CUDA programs of cuda-shim/src/test/cuda cannot be "
        + "built, so the tests that run them unmodified through shim -> agent -> edge -> node are skipped");
    assumeTrue(Files.exists(SHIM.resolve("libcuda.so.1")), "the shim is not built at " + SHIM
        + " (the cuda-shim module builds it; run the build with -am)");
    Files.createDirectories(OUT);
    String suffix = flags.length == 0 ? "" : "-" + String.join("", flags).replaceAll("[^A-Za-z0-9]", "");
    Path exe = OUT.resolve(name + suffix);
    Path src = SOURCES.resolve(name + ".cu");
    if (Files.exists(exe) && Files.getLastModifiedTime(exe).compareTo(Files.getLastModifiedTime(src)) > 0) {
      return exe;
    }
    List<String> cmd = new ArrayList<>(List.of("nvcc", "-o", exe.toString()));
    cmd.addAll(List.of(flags));
    cmd.add(src.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("nvcc " + name + " failed: " + log);
    }
    return exe;
  }

  /** A started program with the shim in its library path. */
  static Process start(Path exe, Path socket, String slice, Map<String, String> env, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(exe.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("LD_LIBRARY_PATH", SHIM.toString());
    pb.environment().put("SPILLWAY_AGENT_SOCKET", socket.toString());
    pb.environment().put("SPILLWAY_SLICE", slice);
    pb.environment().putAll(env);
    return pb.start();
  }

  record Result(int exit, String output) {
  }

  static Result run(Path exe, Path socket, String slice, String... args) throws IOException, InterruptedException {
    return run(exe, socket, slice, Map.of(), args);
  }

  static Result run(Path exe, Path socket, String slice, Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    Process p = start(exe, socket, slice, env, args);
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(exe.getFileName() + " did not end; output so far:\n" + out);
    }
    return new Result(p.exitValue(), out);
  }
}
