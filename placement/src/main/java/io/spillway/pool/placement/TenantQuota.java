package io.spillway.pool.placement;

/**
 * Limits for one tenant across the whole placer. Zero means unlimited.
 *
 * @param maxSessions sessions the tenant may hold at once ({@code 0}: unlimited)
 * @param maxMemoryBytes device memory the tenant's slices may add up to ({@code 0}: unlimited)
 */
public record TenantQuota(int maxSessions, long maxMemoryBytes) {

  public static final TenantQuota UNLIMITED = new TenantQuota(0, 0);

  public TenantQuota {
    if (maxSessions < 0) {
      throw new IllegalArgumentException("maxSessions must be >= 0 (0: unlimited), got " + maxSessions);
    }
    if (maxMemoryBytes < 0) {
      throw new IllegalArgumentException(
          "maxMemoryBytes must be >= 0 (0: unlimited), got " + maxMemoryBytes);
    }
  }
}
