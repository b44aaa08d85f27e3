package io.spillway.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {

  @Test
  void returnsOnceTheConditionHolds() {
    AtomicInteger polls = new AtomicInteger();
    Await.until("the third poll", () -> polls.incrementAndGet() == 3);
    assertEquals(3, polls.get());
  }

  @Test
  void aTimeoutSaysWhatWasAwaited() {
    AssertionError e = assertThrows(AssertionError.class,
        () -> Await.until(Duration.ofMillis(50), "pigs fly", () -> false));
    assertEquals("timed out after 50 ms waiting until pigs fly", e.getMessage());
  }

  @Test
  void anExceptionOfTheConditionReachesTheTest() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Await.until("never", () -> {
          throw new IllegalStateException("boom");
        }));
    assertEquals("boom", e.getMessage());
  }

  @Test
  void anInterruptEndsTheWaitAndKeepsTheFlag() {
    Thread.currentThread().interrupt();
    AssertionError e = assertThrows(AssertionError.class, () -> Await.until("never", () -> false));
    assertTrue(e.getMessage().contains("interrupted waiting until never"), e.getMessage());
    assertTrue(Thread.interrupted());
  }
}
