package io.spillway.webhook;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * How the webhook runs and rewrites pods.
 *
 * @param port           HTTPS port
 * @param tlsCert        PEM certificate chain (cert-manager's {@code tls.crt})
 * @param tlsKey         PEM private key, PKCS#8 or PKCS#1 RSA (cert-manager's {@code tls.key})
 * @param resource       the device plugin's resource
 * @param unitBytes      GPU memory per unit of {@code resource}
 * @param cardMemory     card model -> memory, to turn a percent into units
 * @param skipNamespaces namespaces whose pods are never changed
 * @param shimDir        where containers see the shim (prepended to a container's own LD_LIBRARY_PATH)
 */
public record WebhookConfig(int port, Path tlsCert, Path tlsKey, String resource, long unitBytes,
    Map<String, Long> cardMemory, Set<String> skipNamespaces, String shimDir) {

  public static final Set<String> SYSTEM_NAMESPACES = Set.of("kube-system", "kube-public", "kube-node-lease");
  public static final String RESOURCE = "spillway.io/gpu-memory";
  public static final String SHIM_DIR = "/usr/local/spillway/lib";

  public WebhookConfig {
    cardMemory = Map.copyOf(cardMemory);
    skipNamespaces = Set.copyOf(skipNamespaces);
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port=" + port + " is invalid: expected 0..65535");
    }
    if (unitBytes < 1) {
      throw new IllegalArgumentException("unit=" + unitBytes + " is invalid: expected at least 1 byte");
    }
  }

  /** The rewriting settings alone (no server), as tests and the defaults use them. */
  public static WebhookConfig rewriting(Map<String, Long> cardMemory) {
    return new WebhookConfig(8443, null, null, RESOURCE, 1L << 30, cardMemory, SYSTEM_NAMESPACES, SHIM_DIR);
  }
}
