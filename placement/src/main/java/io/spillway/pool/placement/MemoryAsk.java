package io.spillway.pool.placement;

/** The memory a session asks for on each of its GPUs: a byte count, or a share of the card. */
public sealed interface MemoryAsk {

  /** Bytes this ask takes on a card that can hand out {@code cardLimitBytes} (memory less reserve). */
  long bytesOn(long cardLimitBytes);

  /** For messages: {@code "16.0 GiB"} or {@code "50% of card memory"}. */
  String describe();

  /** A fixed number of bytes on every card, {@code > 0}. */
  record Bytes(long bytes) implements MemoryAsk {
    public Bytes {
      if (bytes <= 0) {
        throw new IllegalArgumentException("memory bytes must be > 0, got " + bytes);
      }
    }

    @Override
    public long bytesOn(long cardLimitBytes) {
      return bytes;
    }

    @Override
    public String describe() {
      return Sizes.bytes(bytes);
    }
  }

  /**
   * A share of each card's <em>usable</em> memory (total less reserve), 1..100, rounded down to a byte.
   * Taken of the usable memory rather than the total so that {@code 100} always fits an empty card and
   * four asks of {@code 25} exactly fill one, whatever the reserve.
   */
  record PercentOfCard(int percent) implements MemoryAsk {
    public PercentOfCard {
      if (percent < 1 || percent > 100) {
        throw new IllegalArgumentException("memory percent must be in 1..100, got " + percent);
      }
    }

    @Override
    public long bytesOn(long cardLimitBytes) {
      // cardLimitBytes * percent cannot overflow for any real card (< 2^56 bytes).
      return Math.max(1, cardLimitBytes * percent / 100);
    }

    @Override
    public String describe() {
      return percent + "% of card memory";
    }
  }
}
