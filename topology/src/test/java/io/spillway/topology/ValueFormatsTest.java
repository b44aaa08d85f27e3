package io.spillway.topology;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sizes and durations as operators write them, and the messages for what they should not. */
class ValueFormatsTest {

  @Test
  void sizesInBinaryAndDecimalUnits() {
    assertEquals(32L << 30, DataSize.parse("32GiB").bytes());
    assertEquals(32L << 30, DataSize.parse("32 GiB").bytes());
    assertEquals(32L << 30, DataSize.parse("32gib").bytes());
    assertEquals(32L << 30, DataSize.parse("32Gi").bytes());
    assertEquals(512L << 20, DataSize.parse("512MiB").bytes());
    assertEquals(80_000_000_000L, DataSize.parse("80GB").bytes());
    assertEquals(1024, DataSize.parse("1024").bytes());
    assertEquals(3L << 29, DataSize.parse("1.5GiB").bytes());
  }

  @Test
  void sizeSpellingRoundTrips() {
    assertEquals("32GiB", DataSize.parse("32 GiB").toString());
    assertEquals("80GB", DataSize.parse("80GB").toString());
    assertEquals("1536MiB", DataSize.parse("1.5GiB").toString());
    assertEquals("1000001B", DataSize.ofBytes(1_000_001).toString());
    for (String s : new String[] {"32GiB", "80GB", "1536MiB", "1000001B", "0B"}) {
      assertEquals(s, DataSize.parse(s).toString());
    }
  }

  @Test
  void badSizesSayWhatIsAccepted() {
    assertMessage(() -> DataSize.parse("-32GiB"), "\"-32GiB\" is not a size: a size cannot be negative");
    assertMessage(() -> DataSize.parse("32 gigs"), "\"32 gigs\" is not a size: unknown unit \"gigs\"; write a number followed by B, KB");
    assertMessage(() -> DataSize.parse("lots"), "\"lots\" is not a size: write a number followed by");
    assertMessage(() -> DataSize.parse("1.5B"), "not a whole number of bytes");
    assertMessage(() -> DataSize.parse("99999999TiB"), "larger than");
  }

  @Test
  void durationsWithUnits() {
    assertEquals(Duration.ofSeconds(30), Durations.parse("30s"));
    assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
    assertEquals(Duration.ofMinutes(2), Durations.parse("2m"));
    assertEquals(Duration.ofSeconds(90), Durations.parse("1m30s"));
    assertEquals(Duration.ofDays(1), Durations.parse("1d"));
    assertEquals("1m30s", Durations.format(Duration.ofSeconds(90)));
    assertEquals("500ms", Durations.format(Duration.ofMillis(500)));
  }

  @Test
  void badDurationsSayWhatIsAccepted() {
    assertMessage(() -> Durations.parse("30"), "\"30\" is not a duration: a unit is required; write a whole number followed by ms, s, m, h or d");
    assertMessage(() -> Durations.parse("-5s"), "\"-5s\" is not a duration: a duration cannot be negative");
    assertMessage(() -> Durations.parse("5min"), "\"5min\" is not a duration: write a whole number");
    assertMessage(() -> Durations.parse("1.5s"), "\"1.5s\" is not a duration");
  }

  private static void assertMessage(org.junit.jupiter.api.function.Executable parse, String fragment) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, parse);
    assertTrue(e.getMessage().contains(fragment), () -> "expected \"" + fragment + "\" in: " + e.getMessage());
  }
}
