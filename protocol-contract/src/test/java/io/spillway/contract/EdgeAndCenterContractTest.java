package io.spillway.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spillway.federation.Federation;
import io.spillway.lease.LeaseListener;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.testkit.Await;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The contract spoken through an edge and a center under a lease: the edge's only card is too small for
 * the slice, so every session spills to the center (real Kafka, embedded KRaft broker), which runs it on
 * the lease's card.
 */
class EdgeAndCenterContractTest extends SessionProtocolContract {

  private static Federation federation;
  private static Federation.Edge edge;
  /** Every lease the edge has ever held a record of. */
  private static final Set<String> leases = ConcurrentHashMap.newKeySet();
  private int leasesBefore;

  @BeforeAll
  static void startFederation() throws Exception {
    federation = Federation.builder().start();
    edge = federation.edge("contract", FailoverConfig.defaults());
    edge.leases().addListener((LeaseListener) (previous, current) -> leases.add(current.getLeaseId()));
    federation.node(edge.core(), "edge-node", "edge/contract", 1, GIB);
  }

  @AfterAll
  static void stopFederation() {
    if (federation != null) {
      federation.close();
    }
  }

  @BeforeEach
  void countLeases() {
    Await.until("the lease of this test's session is known", () -> !edge.spill().borrowed().isEmpty());
    leasesBefore = leases.size();
  }

  @Override
  String address() {
    return edge.address();
  }

  @Override
  SliceRequest slice() {
    return SliceRequest.newBuilder().setMemoryBytes(2 * GIB).setComputePercent(10).build();
  }

  @Override
  String pool() {
    return "center";
  }

  @Override
  String firstHop() {
    return "gateway edge-contract";
  }

  @Override
  void assertNothingHeldFor(String tenant) {
    Await.until("the edge holds no session of " + tenant,
        () -> edge.core().sessions().stream().noneMatch(s -> s.tenant().equals(tenant)));
    assertEquals(leasesBefore, leases.size(), "no lease was asked for: " + leases);
  }
}
