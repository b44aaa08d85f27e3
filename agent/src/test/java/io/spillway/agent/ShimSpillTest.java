package io.spillway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.federation.Federation;
import io.spillway.lease.TestBroker;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.testkit.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Unmodified programs whose edge has no GPU of its own: every context the shim opens is spilled by the
 * edge to the center under a lease borrowed over a real (embedded KRaft) broker, and runs there on the
 * center's node. Passing proves the whole path: shim, agent, edge, lease, center, node.
 */
class ShimSpillTest {

  static Federation federation;
  static Federation.Edge edge;
  static AgentServer agent;
  static Path socket;

  @BeforeAll
  static void federation() throws Exception {
    federation = Federation.builder().broker(TestBroker.create(), TestBroker::start)
        .centerNode("center-node", 1, 2 * Federation.GIB).start();
    edge = federation.edge("nogpu", FailoverConfig.defaults());
    socket = Files.createTempDirectory("spillway-agent").resolve("agent.sock");
    agent = AgentServer.start(new AgentConfig(socket, edge.address(), "test", SliceSpec.parse("memory=256MiB"),
        0, 4));
  }

  @AfterAll
  static void stop() throws Exception {
    if (agent != null) {
      agent.close();
    }
    if (federation != null) {
      federation.close();
    }
  }

  @Test
  void programsRunOnTheCenterUnderALeaseWhenTheEdgeHasNoGpu() throws Exception {
    CudaPrograms.Result memory = CudaPrograms.run(CudaPrograms.build("memory"), socket, "memory=128MiB");
    assertEquals(0, memory.exit(), memory.output());
    assertTrue(memory.output().contains("PASS memory"), memory.output());
    CudaPrograms.Result vectorAdd = CudaPrograms.run(CudaPrograms.build("vector_add"), socket, "memory=64MiB",
        "100000", "3");
    assertEquals(0, vectorAdd.exit(), vectorAdd.output());
    assertTrue(vectorAdd.output().contains("PASS vector_add n=100000 rounds=3"), vectorAdd.output());
    assertTrue(edge.core().registry().nodes().isEmpty(), "the edge had no node: the programs ran on the center");
    Await.until("the leases are given back when the programs' contexts end", () -> edge.spill().borrowed().isEmpty());
  }
}
