package io.spillway.lease;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Kafka client settings an operator passes through to every lease client (the edge's lease client, the
 * center's leader and log readers, the admin order producer, the topic creator): how to reach and
 * authenticate to the brokers, and nothing else. Accepted keys are {@code security.protocol} and those
 * starting {@code sasl.} or {@code ssl.}; the lease code's own settings (bootstrap servers,
 * serializers, acks, idempotence, isolation, transactional id, group, timeouts) cannot be overridden, so
 * that configuration cannot weaken the leader's exactly-once writes or the readers' read_committed.
 */
public final class KafkaClientProperties {

  private static final Set<String> PROTOCOLS = Set.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL");
  /** A sane bound: a JAAS line or a PEM certificate chain fits; anything longer is a mistake. */
  static final int MAX_VALUE_CHARS = 64 * 1024;

  private KafkaClientProperties() {}

  /**
   * {@code properties} checked and copied (sorted, unmodifiable).
   *
   * @param prefix how the keys are spelled in the caller's configuration (e.g.
   *     {@code spillway.center.kafka.properties.}), for the messages
   * @throws IllegalArgumentException naming the key, the value where it is not a secret, and what is accepted
   */
  public static Map<String, String> check(String prefix, Map<String, String> properties) {
    Map<String, String> out = new TreeMap<>();
    properties.forEach((key, value) -> {
      if (!(key.equals("security.protocol") || key.startsWith("sasl.") || key.startsWith("ssl."))) {
        throw new IllegalArgumentException(prefix + key + " is not accepted: only security.protocol, sasl.* and "
            + "ssl.* pass through to the lease clients (the lease code sets their other settings itself)");
      }
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(prefix + key + " is empty; give a value or leave the key out");
      }
      if (value.length() > MAX_VALUE_CHARS) {
        throw new IllegalArgumentException(prefix + key + " is " + value.length() + " characters long; at most "
            + MAX_VALUE_CHARS);
      }
      if (key.equals("security.protocol") && !PROTOCOLS.contains(value.trim())) {
        throw new IllegalArgumentException(prefix + key + " is '" + value + "'; it must be one of "
            + PROTOCOLS.stream().sorted().toList());
      }
      out.put(key, key.equals("security.protocol") ? value.trim() : value);
    });
    String protocol = out.getOrDefault("security.protocol", "PLAINTEXT");
    boolean sasl = protocol.startsWith("SASL_");
    if (sasl && !out.containsKey("sasl.jaas.config")) {
      throw new IllegalArgumentException(prefix + "security.protocol is " + protocol + " but " + prefix
          + "sasl.jaas.config is not set: the lease clients would have no credential to present");
    }
    if (!sasl && out.keySet().stream().anyMatch(k -> k.startsWith("sasl."))) {
      throw new IllegalArgumentException(prefix + "sasl.* is set but " + prefix + "security.protocol is " + protocol
          + "; set it to SASL_SSL (or SASL_PLAINTEXT on a trusted network) for the SASL settings to apply");
    }
    return Collections.unmodifiableMap(out);
  }

  /**
   * The settings in a Java properties file (as an operator mounts one, e.g. from a Kubernetes secret),
   * checked as {@link #check} does.
   *
   * @param key the configuration key that named the file, for the messages
   */
  public static Map<String, String> load(java.nio.file.Path file, String key) {
    java.util.Properties p = new java.util.Properties();
    try (java.io.Reader r = java.nio.file.Files.newBufferedReader(file, java.nio.charset.StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (java.io.IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException(key + " names " + file + ", which cannot be read as a properties file: "
          + e.getMessage());
    }
    Map<String, String> m = new TreeMap<>();
    p.stringPropertyNames().forEach(n -> m.put(n, p.getProperty(n)));
    try {
      return check("", m);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + " names " + file + ": " + e.getMessage());
    }
  }
}
