package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.node.server.RawSession;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.testkit.Await;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The gateway's own limits on what one client sends: each refused with a status naming it. */
class GatewayLimitsTest {

  private static final long GIB = 1L << 30;

  /** Opens a raw session (frame by frame, as a hostile client would) with a 1 MiB slice. */
  private static void open(RawSession s) throws InterruptedException {
    s.open("t", RawSession.slice(1 << 20, 0));
  }

  private static TestPool pool(GatewayConfig.Limits limits) throws Exception {
    TestPool pool = new TestPool(GatewayConfig.local("edge-l", "edge/l").withLimits(limits));
    pool.addNode("node-a", 1, "V100", 32 * GIB);
    return pool;
  }

  @Test
  void aFrameOverTheOpLimitIsRefusedWholeAndTheSessionGoesOn() throws Exception {
    try (TestPool pool = pool(GatewayConfig.Limits.defaults().withMaxFrameOps(8));
        RawSession s = RawSession.connect(pool.gateway.address())) {
      open(s);
      Op.Builder[] ops = new Op.Builder[9];
      for (int i = 0; i < ops.length; i++) {
        ops[i] = Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(1 + i).setBytes(64));
      }
      s.frame(ops);
      Reply r = s.next();
      assertTrue(r.hasError(), r::toString);
      assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), r.getError().getCode());
      assertTrue(r.getError().getDescription().contains("max-frame-ops 8"), r.getError().getDescription());
      // Nothing of it reached the node: handle 1 is free.
      s.frame(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(1).setBytes(64)),
          Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance()));
      Reply sync = s.next();
      assertTrue(sync.hasSynchronized(), sync::toString);
      assertEquals(0, sync.getSynchronized().getFailedOps());
    }
  }

  @Test
  void aStreamThatNeverOpensIsEndedAtTheFirstFrameDeadline() throws Exception {
    try (TestPool pool = pool(GatewayConfig.Limits.defaults().withFirstFrameTimeout(Duration.ofMillis(200)));
        RawSession silent = RawSession.connect(pool.gateway.address())) {
      Status status = silent.awaitClose();
      assertEquals(Status.Code.DEADLINE_EXCEEDED, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("first-frame-timeout"), status::getDescription);
    }
  }

  @Test
  void anIdleSessionIsEndedAndItsSliceGoesBack() throws Exception {
    try (TestPool pool = pool(GatewayConfig.Limits.defaults().withIdleTimeout(Duration.ofMillis(300)));
        RawSession s = RawSession.connect(pool.gateway.address())) {
      open(s);
      Status status = s.awaitClose();
      assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode(), status::toString);
      assertTrue(status.getDescription().contains("idle-timeout"), status::getDescription);
      GpuNodeServer node = pool.nodes.get(0);
      Await.until("the node released the idle session", () -> node.node().sessions().isEmpty());
      Await.until("the gateway forgot it", () -> pool.gateway.sessions().isEmpty());
    }
  }
}
