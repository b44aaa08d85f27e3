package io.spillway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.client.SpillwayClient;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Unmodified nvcc-built programs through shim -> agent -> edge gateway -> GPU node (host driver), all real:
 * the programs are processes, the agent serves them on a Unix socket, the edge and the node speak gRPC over
 * loopback.
 */
class ShimEndToEndTest {

  static final long MIB = 1L << 20;
  static GpuNodeServer server;
  static GatewayCore edge;
  static GatewayRegistrar registrar;
  static AgentServer agent;
  static Path socket;
  static final List<String> agentLog = new CopyOnWriteArrayList<>();
  static final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord r) {
      agentLog.add(r.getMessage());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };

  @BeforeAll
  static void federation() throws Exception {
    GpuNode node = new GpuNode(new NodeOptions("node-1", "edge/test", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 1024 * MIB));
    server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    edge = new GatewayCore(GatewayConfig.local("edge-test", "edge/test"), Clock.systemUTC(), GatewayListener.NONE)
        .failover(FailoverConfig.defaults()).start();
    registrar = new GatewayRegistrar(node, edge.address(), "127.0.0.1:" + server.port(), 200).start();
    while (!edge.ready()) {
      Thread.sleep(10);
    }
    socket = Files.createTempDirectory("spillway-agent").resolve("agent.sock");
    Logger.getLogger("io.spillway.agent").addHandler(capture);
    agent = AgentServer.start(new AgentConfig(socket, edge.address(), "test", SliceSpec.parse("memory=256MiB"),
        0, 4));
  }

  @AfterAll
  static void stop() throws Exception {
    Logger.getLogger("io.spillway.agent").removeHandler(capture);
    if (agent != null) {
      agent.close();
    }
    if (registrar != null) {
      registrar.close();
    }
    if (edge != null) {
      edge.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void memoryProgramPasses() throws Exception {
    CudaPrograms.Result r = CudaPrograms.run(CudaPrograms.build("memory"), socket, "memory=128MiB");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("PASS memory"), r.output());
    assertTrue(r.output().contains("134217728 bytes"), "the device reports the slice's memory: " + r.output());
  }

  @Test
  void overTheSliceIsCudaErrorMemoryAllocation() throws Exception {
    CudaPrograms.Result r = CudaPrograms.run(CudaPrograms.build("over_slice"), socket, "memory=64MiB");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("PASS over_slice"), r.output());
  }

  @Test
  void unsupportedCallAnswersNotSupportedAndTheLogNamesIt() throws Exception {
    CudaPrograms.Result r = CudaPrograms.run(CudaPrograms.build("unsupported"), socket, "");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("PASS unsupported"), r.output());
    assertTrue(r.output().contains("cuMemAllocManaged is not supported"), "the shim's log names the call: " + r.output());
    // The line reaches the agent with the program's last bytes; its thread may log it just after the exit.
    for (int i = 0; i < 500 && agentLog.stream().noneMatch(l -> l.contains("unsupported call cuMemAllocManaged")); i++) {
      Thread.sleep(10);
    }
    assertTrue(agentLog.stream().anyMatch(l -> l.contains("unsupported call cuMemAllocManaged")),
        "the agent's log names the call: " + agentLog);
  }

  @Test
  void twoProgramsOnOneCardCannotReachEachOthersMemory() throws Exception {
    Path exe = CudaPrograms.build("isolation");
    Process owner = CudaPrograms.start(exe, socket, "memory=16MiB", java.util.Map.of(), "owner");
    BufferedReader lines = new BufferedReader(new InputStreamReader(owner.getInputStream(), StandardCharsets.UTF_8));
    String line;
    String address = null;
    StringBuilder seen = new StringBuilder();
    while ((line = lines.readLine()) != null) {
      seen.append(line).append('\n');
      if (line.startsWith("ADDRESS ")) {
        address = line.substring(8).strip();
        break;
      }
    }
    assertTrue(address != null, "the owner printed its address: " + seen);
    CudaPrograms.Result intruder = CudaPrograms.run(exe, socket, "memory=16MiB", "intruder", address);
    try (OutputStream o = owner.getOutputStream()) {
      o.write("done\n".getBytes(StandardCharsets.UTF_8));
    }
    String rest = new String(owner.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, owner.waitFor(), seen + rest);
    assertTrue(rest.contains("PASS owner"), rest);
    assertEquals(0, intruder.exit(), intruder.output());
    assertTrue(intruder.output().contains("PASS intruder"), intruder.output());
  }

  @Test
  void vectorAddPasses() throws Exception {
    CudaPrograms.Result r = CudaPrograms.run(CudaPrograms.build("vector_add"), socket, "memory=64MiB", "100000");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("PASS vector_add"), r.output());
  }

  @Test
  void programsBuiltWithTheSharedRuntimePass() throws Exception {
    CudaPrograms.Result r = CudaPrograms.run(CudaPrograms.build("vector_add", "-cudart", "shared"), socket,
        "memory=64MiB", "50000", "2");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("PASS vector_add n=50000 rounds=2"), r.output());
  }

  @Test
  void theShimUnderAddressSanitizerRunsTheProgramsCleanly() throws Exception {
    Path memory = CudaPrograms.build("memory");
    Path vectorAdd = CudaPrograms.build("vector_add");
    Process gcc = new ProcessBuilder("gcc", "-print-file-name=libasan.so").redirectErrorStream(true).start();
    String asan = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    org.junit.jupiter.api.Assumptions.assumeTrue(gcc.waitFor() == 0 && Path.of(asan).isAbsolute() && Files.exists(Path.of(asan)),
        "gcc has no AddressSanitizer runtime here; the sanitized shim cannot be tried");
    Process make = new ProcessBuilder("make", "-s", "asan").directory(CudaPrograms.ROOT.resolve("cuda-shim").toFile())
        .redirectErrorStream(true).start();
    String built = new String(make.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, make.waitFor(), built);
    java.util.Map<String, String> env = java.util.Map.of("LD_LIBRARY_PATH",
        CudaPrograms.ROOT.resolve("cuda-shim/target/asan").toString(), "LD_PRELOAD", asan,
        "ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1");
    CudaPrograms.Result m = CudaPrograms.run(memory, socket, "memory=128MiB", env);
    assertEquals(0, m.exit(), m.output());
    assertTrue(m.output().contains("PASS memory") && !m.output().contains("AddressSanitizer"), m.output());
    CudaPrograms.Result v = CudaPrograms.run(vectorAdd, socket, "memory=64MiB", env, "20000");
    assertEquals(0, v.exit(), v.output());
    assertTrue(v.output().contains("PASS vector_add") && !v.output().contains("AddressSanitizer"), v.output());
  }

  @Test
  void threadsSharingTheContextEachGetTheirOwnResults() throws Exception {
    CudaPrograms.Result r = CudaPrograms.run(CudaPrograms.build("threads"), socket, "memory=64MiB", "4", "4096", "5");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("PASS threads threads=4 n=4096 rounds=5"), r.output());
  }

  @Test
  void theShimUnderThreadSanitizerReportsNoRaceWithManyThreads() throws Exception {
    Path threads = CudaPrograms.build("threads");
    Process gcc = new ProcessBuilder("gcc", "-print-file-name=libtsan.so").redirectErrorStream(true).start();
    String tsan = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    org.junit.jupiter.api.Assumptions.assumeTrue(gcc.waitFor() == 0 && Path.of(tsan).isAbsolute() && Files.exists(Path.of(tsan)),
        "gcc has no ThreadSanitizer runtime here; the sanitized shim cannot be tried");
    Process make = new ProcessBuilder("make", "-s", "tsan").directory(CudaPrograms.ROOT.resolve("cuda-shim").toFile())
        .redirectErrorStream(true).start();
    String built = new String(make.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, make.waitFor(), built);
    // The program and the CUDA runtime are not instrumented; the shim is, and TSan sees every lock the
    // runtime takes through its pthread interceptors. A report makes the program exit 66.
    java.util.Map<String, String> env = java.util.Map.of("LD_LIBRARY_PATH",
        CudaPrograms.ROOT.resolve("cuda-shim/target/tsan").toString(), "LD_PRELOAD", tsan,
        "TSAN_OPTIONS", "exitcode=66 verbosity=1");
    CudaPrograms.Result r = CudaPrograms.run(threads, socket, "memory=64MiB", env, "4", "2048", "3");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("Running under ThreadSanitizer"), "the sanitizer was loaded: " + r.output());
    assertTrue(r.output().contains("PASS threads") && !r.output().contains("WARNING: ThreadSanitizer"), r.output());
  }
}
