package io.spillway.security.tls;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A component's TLS material as PEM files, as cert-manager writes them into a Secret volume: its
 * certificate chain (leaf first), its private key (PKCS#8, {@code BEGIN PRIVATE KEY}; EC or RSA), and the
 * CA certificates it trusts for its peers. The files are read again whenever they change (see
 * {@link TlsContexts}).
 */
public record TlsFiles(Path cert, Path key, Path trustedCa) {

  public TlsFiles {
    Objects.requireNonNull(cert, "cert");
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(trustedCa, "trustedCa");
  }

  /**
   * The files named by three configuration keys, all set or none.
   *
   * @param prefix the keys' common prefix, for example {@code spillway.edge.tls.}: the keys are
   *     {@code prefix + "cert"}, {@code "key"} and {@code "ca"}
   * @return empty when none is set (TLS off)
   * @throws IllegalArgumentException naming the keys when only some are set, or a file that is not readable
   */
  public static Optional<TlsFiles> fromKeys(String prefix, Optional<String> cert, Optional<String> key,
      Optional<String> ca) {
    Optional<String> c = cert.filter(s -> !s.isBlank());
    Optional<String> k = key.filter(s -> !s.isBlank());
    Optional<String> a = ca.filter(s -> !s.isBlank());
    if (c.isEmpty() && k.isEmpty() && a.isEmpty()) {
      return Optional.empty();
    }
    StringBuilder missing = new StringBuilder();
    if (c.isEmpty()) {
      missing.append(' ').append(prefix).append("cert");
    }
    if (k.isEmpty()) {
      missing.append(' ').append(prefix).append("key");
    }
    if (a.isEmpty()) {
      missing.append(' ').append(prefix).append("ca");
    }
    if (missing.length() > 0) {
      throw new IllegalArgumentException("TLS needs " + prefix + "cert, " + prefix + "key and " + prefix
          + "ca together (PEM files); not set:" + missing);
    }
    TlsFiles files = new TlsFiles(Path.of(c.get()), Path.of(k.get()), Path.of(a.get()));
    files.requireReadable(prefix);
    return Optional.of(files);
  }

  /**
   * Checks that the three files can be read now.
   *
   * @param prefix the configuration keys' prefix, for the message
   * @throws IllegalArgumentException naming the key and the file
   */
  public void requireReadable(String prefix) {
    readable(cert, prefix + "cert");
    readable(key, prefix + "key");
    readable(trustedCa, prefix + "ca");
  }

  private static void readable(Path p, String key) {
    if (!Files.isReadable(p) || Files.isDirectory(p)) {
      throw new IllegalArgumentException(key + " is " + p + "; it is not a readable file (a PEM file is expected)");
    }
  }
}
