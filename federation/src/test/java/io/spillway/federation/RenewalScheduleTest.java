package io.spillway.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** When an edge renews a lease: from the time the granted deadline leaves, not from a fixed period. */
class RenewalScheduleTest {

  private static final Duration NO_CAP = Duration.ofMinutes(10);

  @Test
  void aThirdOfTheTimeLeftSoAttemptsComeCloserAsTheDeadlineNears() {
    assertEquals(Duration.ofSeconds(10), LeaseSpill.nextRenewal(Duration.ofSeconds(30), NO_CAP));
    assertEquals(Duration.ofSeconds(2), LeaseSpill.nextRenewal(Duration.ofSeconds(6), NO_CAP));
  }

  @Test
  void theRenewIntervalCapsTheWait() {
    assertEquals(Duration.ofSeconds(4), LeaseSpill.nextRenewal(Duration.ofSeconds(30), Duration.ofSeconds(4)));
  }

  @Test
  void neverCloserThanTheFloorUnlessTheDeadlineIsNearerAndThenExactlyAtIt() {
    assertEquals(LeaseSpill.MIN_RENEWAL_WAIT, LeaseSpill.nextRenewal(Duration.ofMillis(150), NO_CAP));
    assertEquals(Duration.ofMillis(40), LeaseSpill.nextRenewal(Duration.ofMillis(40), NO_CAP));
    assertEquals(Duration.ZERO, LeaseSpill.nextRenewal(Duration.ofMillis(-5), NO_CAP));
  }
}
