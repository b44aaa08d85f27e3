package io.spillway.pool.placement;

import java.util.Map;
import java.util.Objects;

/**
 * Where {@link SlicePlacer} looks up a tenant's quota. Consulted inside the placer's lock on every
 * {@code place}, so an implementation must be fast and must not block or call the placer; it may change
 * its answers over time (a reloaded configuration), and the new limits apply to the next placement
 * (sessions already placed are never evicted).
 */
@FunctionalInterface
public interface TenantQuotas {

  /** The quota for a tenant; never null. Tenants without their own quota get a default. */
  TenantQuota quotaFor(String tenant);

  static TenantQuotas unlimited() {
    return tenant -> TenantQuota.UNLIMITED;
  }

  /** Fixed quotas: {@code perTenant} by exact tenant name, {@code defaultQuota} for everyone else. */
  static TenantQuotas of(TenantQuota defaultQuota, Map<String, TenantQuota> perTenant) {
    Objects.requireNonNull(defaultQuota, "defaultQuota");
    Map<String, TenantQuota> copy = Map.copyOf(perTenant);
    return tenant -> copy.getOrDefault(tenant, defaultQuota);
  }
}
