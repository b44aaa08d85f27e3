package io.spillway.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Record signatures and the client security settings, without a broker. */
class LeaseSigningTest {

  private static final byte[] SECRET = LeaseSigning.newSecret();
  private static final byte[] VALUE = "a request".getBytes(StandardCharsets.UTF_8);

  @Test
  void anEdgeSignsOnlyAsItself() {
    LeaseSigning leader = LeaseSigning.verifier(SECRET);
    RecordHeaders h = new RecordHeaders();
    LeaseSigning.sign(LeaseSigning.edgeKey(SECRET, "edge-east"), LeaseTopics.REQUESTS, "edge-east", VALUE, h);
    assertTrue(leader.signedByEdge("edge-east", LeaseTopics.REQUESTS, "edge-east", VALUE, h));
    assertFalse(leader.signedByEdge("edge-west", LeaseTopics.REQUESTS, "edge-east", VALUE, h), "another edge's name");
    assertFalse(leader.signedByAdmin(LeaseTopics.REQUESTS, "edge-east", VALUE, h), "not an admin order");
    assertFalse(leader.signedByEdge("edge-east", LeaseTopics.RENEWALS, "edge-east", VALUE, h), "moved to a topic");
    assertFalse(leader.signedByEdge("edge-east", LeaseTopics.REQUESTS, "k", VALUE, h), "moved to a key");
    assertFalse(leader.signedByEdge("edge-east", LeaseTopics.REQUESTS, "edge-east", new byte[] {1}, h),
        "on another value");
    assertFalse(leader.signedByEdge("edge-east", LeaseTopics.REQUESTS, "edge-east", VALUE, new RecordHeaders()),
        "unsigned");
    assertFalse(LeaseSigning.verifier(LeaseSigning.newSecret())
        .signedByEdge("edge-east", LeaseTopics.REQUESTS, "edge-east", VALUE, h), "another center's secret");
    RecordHeaders admin = new RecordHeaders();
    LeaseSigning.sign(LeaseSigning.adminKey(SECRET), LeaseTopics.RENEWALS, "lease-1", VALUE, admin);
    assertTrue(leader.signedByAdmin(LeaseTopics.RENEWALS, "lease-1", VALUE, admin));
  }

  @Test
  void secretsAreLongEnoughAndReadBack(@TempDir Path dir) throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LeaseSigning.verifier(new byte[8]));
    assertTrue(e.getMessage().contains("at least 32 bytes"), e.getMessage());
    Path f = dir.resolve("secret");
    LeaseSigning.write(f, SECRET);
    assertEquals(java.util.Arrays.toString(SECRET), java.util.Arrays.toString(LeaseSigning.read(f, "k")));
    Files.writeString(f, "not base64!");
    e = assertThrows(IllegalArgumentException.class, () -> LeaseSigning.read(f, "spillway.center.lease.x"));
    assertTrue(e.getMessage().contains("spillway.center.lease.x") && e.getMessage().contains("base64"), e.getMessage());
  }

  @Test
  void onlySecuritySettingsPassThrough() {
    String p = "spillway.center.kafka.properties.";
    Map<String, String> ok = KafkaClientProperties.check(p, Map.of("security.protocol", "SASL_SSL",
        "sasl.mechanism", "SCRAM-SHA-512", "sasl.jaas.config", "x required;", "ssl.truststore.location", "/t"));
    assertEquals(4, ok.size());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> KafkaClientProperties.check(p, Map.of("isolation.level", "read_uncommitted")));
    assertTrue(e.getMessage().startsWith(p + "isolation.level is not accepted"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> KafkaClientProperties.check(p, Map.of("security.protocol", "TLS")));
    assertTrue(e.getMessage().contains("'TLS'") && e.getMessage().contains("SASL_SSL"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> KafkaClientProperties.check(p, Map.of("security.protocol", "SASL_SSL")));
    assertTrue(e.getMessage().contains(p + "sasl.jaas.config is not set"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> KafkaClientProperties.check(p, Map.of("sasl.mechanism", "PLAIN")));
    assertTrue(e.getMessage().contains("security.protocol is PLAINTEXT"), e.getMessage());
    String config = LeaseConfig.defaults().withKafkaProperties(Map.of("security.protocol", "SASL_SSL",
        "sasl.jaas.config", "x password=\"hunter2-hunter2\";")).toString();
    assertFalse(config.contains("hunter2"), "the configuration's text carries no credential: " + config);
  }
}
