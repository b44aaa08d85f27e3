package io.spillway.security.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.logging.Logger;

/**
 * Which TLS implementation the contexts use: BoringSSL (netty-tcnative's static build) where its native
 * library loads on this platform, the JDK's otherwise. Chosen once per process and logged once.
 */
public final class TlsProvider {
  private static final Logger LOG = Logger.getLogger(TlsProvider.class.getName());
  private static volatile boolean logged;

  private TlsProvider() {}

  /** The provider contexts are built with. */
  public static SslProvider provider() {
    SslProvider p = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    if (!logged) {
      logged = true;
      LOG.info(() -> "TLS provider: " + describe());
    }
    return p;
  }

  /** The provider in words, for logs and benchmarks: {@code BoringSSL (netty-tcnative) ...} or {@code JDK ...}. */
  public static String describe() {
    if (OpenSsl.isAvailable()) {
      return OpenSsl.versionString() + " (netty-tcnative)";
    }
    Throwable why = OpenSsl.unavailabilityCause();
    return "JDK " + System.getProperty("java.version") + " (netty-tcnative unavailable: "
        + (why == null ? "unknown" : why.getMessage()) + ")";
  }
}
