package io.spillway.pool.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CardCapacityTest {

  private final CardCapacity card = CardCapacity.of(16_000, 1_000);

  @Test
  void slicesFitUpToTheMemoryLessTheReserveAndToAHundredPercentCompute() {
    assertEquals(15_000, card.memoryLimitBytes());
    assertTrue(card.fits(10_000, 60, 5_000, 40), "exactly full on both");
    assertFalse(card.fits(10_000, 60, 5_001, 40), "one byte over the memory less the reserve");
    assertFalse(card.fits(10_000, 60, 5_000, 41), "one percent over 100");
  }

  @Test
  void whatIsFreeGoesNegativeWhenOver() {
    assertEquals(-1, card.freeBytes(15_001));
    assertEquals(0, card.freeCompute(100));
    assertEquals(-1, card.freeCompute(101));
  }

  @Test
  void aReserveOfAllTheMemoryIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> CardCapacity.of(1_000, 1_000));
    assertThrows(IllegalArgumentException.class, () -> CardCapacity.of(1_000, -1));
  }
}
