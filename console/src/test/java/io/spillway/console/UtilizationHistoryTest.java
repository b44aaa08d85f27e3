package io.spillway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class UtilizationHistoryTest {

  private static Sample at(long second) {
    return new Sample(Instant.ofEpochSecond(second), List.of(), (int) second, 0, 0, null);
  }

  @Test
  void keepsTheNewestSamplesOldestFirstOnceFull() {
    UtilizationHistory h = new UtilizationHistory(3);
    for (long s = 1; s <= 5; s++) {
      h.record(at(s));
    }
    assertEquals(List.of(3, 4, 5), h.since(null).stream().map(Sample::sessions).toList());
  }

  @Test
  void sinceReturnsOnlyLaterSamples() {
    UtilizationHistory h = new UtilizationHistory(10);
    for (long s = 1; s <= 4; s++) {
      h.record(at(s));
    }
    assertEquals(List.of(3, 4), h.since(Instant.ofEpochSecond(2)).stream().map(Sample::sessions).toList());
    assertEquals(List.of(), h.since(Instant.ofEpochSecond(4)));
  }

  @Test
  void aRingTooSmallToDrawIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new UtilizationHistory(1));
  }
}
