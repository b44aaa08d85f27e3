package io.spillway.pool.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.Status;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.Placement;
import org.junit.jupiter.api.Test;

/** The statuses the placement package documents for its rejections are the ones a gateway sends. */
class PlacementStatusTest {

  private static Status.Code code(Placement.Reason reason) {
    return PlacementStatus.of(new Placement.Rejected(SessionId.of("s"), reason, "why")).getCode();
  }

  @Test
  void noRoomIsResourceExhaustedAndADuplicateSessionAlreadyExists() {
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, code(Placement.Reason.NO_CAPACITY));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, code(Placement.Reason.NO_MATCHING_GPU));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, code(Placement.Reason.QUOTA_EXCEEDED));
    assertEquals(Status.Code.ALREADY_EXISTS, code(Placement.Reason.DUPLICATE_SESSION));
  }
}
