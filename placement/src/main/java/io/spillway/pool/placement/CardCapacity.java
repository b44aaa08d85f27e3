package io.spillway.pool.placement;

/**
 * The card-capacity rule, stated once: the slices on one card never add up to more than its memory less
 * the reserve, nor to more than 100% of its compute. The node's slice table, the gateway's placer and the
 * lease leader's capacity book all decide with it.
 *
 * @param memoryLimitBytes what slices on the card may add up to: its memory less the reserve (a card
 *     whose reserve is all of its memory has a limit of 0 or less, and nothing with memory fits it)
 */
public record CardCapacity(long memoryLimitBytes) {

  /** What the compute shares of a card's slices may add up to, in percent. */
  public static final int COMPUTE_LIMIT_PERCENT = 100;

  /**
   * The capacity of a card of {@code memoryBytes} that keeps {@code reserveBytes} back.
   *
   * @throws IllegalArgumentException unless {@code 0 <= reserveBytes < memoryBytes}
   */
  public static CardCapacity of(long memoryBytes, long reserveBytes) {
    if (reserveBytes < 0 || reserveBytes >= memoryBytes) {
      throw new IllegalArgumentException("reserve " + reserveBytes + " bytes must be >= 0 and less than the card's "
          + memoryBytes + " bytes");
    }
    return new CardCapacity(memoryBytes - reserveBytes);
  }

  /** True if a slice of {@code bytes} and {@code computePercent} fits beside what is used already. */
  public boolean fits(long usedBytes, int usedComputePercent, long bytes, int computePercent) {
    return bytes <= freeBytes(usedBytes) && computePercent <= freeCompute(usedComputePercent);
  }

  /** Memory still free when {@code usedBytes} is held; negative when over. */
  public long freeBytes(long usedBytes) {
    return memoryLimitBytes - usedBytes;
  }

  /** Compute still free when {@code usedPercent} is held; negative when over. */
  public int freeCompute(int usedPercent) {
    return COMPUTE_LIMIT_PERCENT - usedPercent;
  }
}
