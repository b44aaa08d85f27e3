package io.spillway.agent.kube;

import java.util.Map;

/**
 * Which tenant a pod's sessions count against, by the pod's namespace.
 *
 * @param byNamespace   explicit namespace -> tenant entries
 * @param fromNamespace whether a namespace without an entry is its own tenant; when false such pods are refused
 */
public record TenantMap(Map<String, String> byNamespace, boolean fromNamespace) {

  public TenantMap {
    byNamespace = Map.copyOf(byNamespace);
  }

  /** Parses {@code namespace=tenant}; an error names the entry. */
  public static Map.Entry<String, String> entry(String text) {
    int eq = text.indexOf('=');
    if (eq <= 0 || eq == text.length() - 1) {
      throw new IllegalArgumentException("tenant-map entry \"" + text + "\" is invalid: expected namespace=tenant");
    }
    return Map.entry(text.substring(0, eq).strip(), text.substring(eq + 1).strip());
  }

  /** The tenant of {@code namespace}; refuses a namespace that maps to none. */
  public String tenantFor(String namespace) {
    String t = byNamespace.get(namespace);
    if (t != null) {
      return t;
    }
    if (fromNamespace && !namespace.isBlank()) {
      return namespace;
    }
    throw new IllegalArgumentException("namespace " + namespace + " maps to no tenant (add --tenant-map "
        + namespace + "=TENANT)");
  }
}
