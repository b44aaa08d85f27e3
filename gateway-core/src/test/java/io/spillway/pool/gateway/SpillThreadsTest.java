package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.client.DeviceBuffer;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.Placement;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.session.LeaseAuthority;
import io.spillway.pool.session.SpillTarget;
import io.spillway.testkit.Await;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The spill target's calls may block (they send to Kafka): the gateway makes them on its effects thread,
 * never on a transport thread, and a call that hangs holds up no session.
 */
class SpillThreadsTest {
  private static final long GIB = 1L << 30;

  /** Lends the center's capacity directly: a lease is a placement on the center, id = lease id. */
  private static final class DirectSpill implements SpillTarget, LeaseAuthority {
    final GatewayCore center;
    final Map<String, io.spillway.pool.placement.SliceRequest> asked = new ConcurrentHashMap<>();
    final List<String> threads = new CopyOnWriteArrayList<>();
    final CountDownLatch giveBackMayReturn = new CountDownLatch(1);
    final CountDownLatch gaveBack = new CountDownLatch(1);

    DirectSpill(GatewayCore center) {
      this.center = center;
    }

    @Override
    public boolean spillFirst(PoolSnapshot local) {
      return false;
    }

    @Override
    public CompletableFuture<Spill> borrow(SessionId session, io.spillway.pool.placement.SliceRequest request,
        Consumer<Status> lost) {
      threads.add("borrow " + Thread.currentThread().getName());
      String lease = "lease-" + session.value();
      asked.put(lease, request);
      return CompletableFuture.completedFuture(new Spill(center.address(), lease, 1));
    }

    @Override
    public void giveBack(Spill spill) {
      threads.add("giveBack " + Thread.currentThread().getName());
      gaveBack.countDown();
      try {
        giveBackMayReturn.await(30, TimeUnit.SECONDS); // a Kafka send that stalls
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public CompletableFuture<List<io.spillway.pool.placement.Slice>> admit(String leaseId, long epoch, String edge) {
      Placement p = center.placer().place(SessionId.of(leaseId), asked.get(leaseId));
      return p instanceof Placement.Placed placed ? CompletableFuture.completedFuture(placed.slices())
          : CompletableFuture.failedFuture(Status.RESOURCE_EXHAUSTED.asException());
    }
  }

  @Test
  void leaseCallsRunOnTheEffectsThreadAndOneThatHangsHoldsUpNoSession() throws Exception {
    try (TestPool center = new TestPool(GatewayConfig.local("center-t", "center/t"));
        TestPool edge = new TestPool(GatewayConfig.local("edge-s", "edge/s"))) {
      center.gateway.failover(FailoverConfig.off());
      center.addNode("center-node", 2, "A100", 80 * GIB);
      DirectSpill spill = new DirectSpill(center.gateway);
      center.gateway.acceptLeases(spill);
      edge.gateway.spillTo(spill);
      SliceRequest slice = SliceRequest.builder().tenant("acme").memoryBytes(GIB).build();
      try (GpuSession first = edge.client().open(slice)) {
        assertEquals("center/t", first.devices().get(0).pool());
        first.close();
        assertTrue(spill.gaveBack.await(10, TimeUnit.SECONDS), "the lease is given back");
        // The give-back hangs; another session opens, works and closes meanwhile.
        try (GpuSession second = edge.client().open(slice)) {
          DeviceBuffer b = second.alloc(8);
          second.write(b, 0, new byte[] {1, 2, 3});
          assertEquals(3, second.read(b, 2, 1)[0]);
        }
      } finally {
        spill.giveBackMayReturn.countDown();
      }
      Await.until("both leases are given back", () -> spill.threads.size() >= 4);
      for (String call : spill.threads) {
        assertTrue(call.contains("spillway-gateway-effects-edge-s"), call);
      }
    }
  }
}
