package io.spillway.center;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseRequest;
import io.spillway.protocol.v1.LeaseState;
import org.junit.jupiter.api.Test;

class LeaseGrantTimesTest {

  private static LeaseRequest request(String id, long at) {
    return LeaseRequest.newBuilder().setRequestId(id).setRequestedAtMillis(at).build();
  }

  private static Lease lease(String requestId, long epoch, LeaseState state, long at) {
    return Lease.newBuilder().setLeaseId("lease-" + requestId).setRequestId(requestId).setEpoch(epoch)
        .setState(state).setUpdatedAtMillis(at).build();
  }

  @Test
  void meanFromRequestToFirstGrantInEitherOrderThenReset() {
    LeaseGrantTimes t = new LeaseGrantTimes();
    assertNull(t.drainMeanMillis(), "nothing granted yet");
    t.onRequest(request("a", 1_000));
    t.onLease(lease("a", 1, LeaseState.GRANTED, 1_040));
    t.onLease(lease("b", 1, LeaseState.GRANTED, 2_100));   // heard before its request
    t.onRequest(request("b", 2_040));
    t.onLease(lease("a", 2, LeaseState.GRANTED, 9_000));   // a renewal: not a grant
    t.onRequest(request("c", 3_000));
    t.onLease(lease("c", 1, LeaseState.REFUSED, 3_010));   // refused: not a grant
    assertEquals(50.0, t.drainMeanMillis());
    assertNull(t.drainMeanMillis(), "drained");
  }
}
