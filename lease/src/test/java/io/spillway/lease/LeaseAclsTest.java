package io.spillway.lease;

import static io.spillway.lease.LeaseTestSupport.node;
import static io.spillway.lease.LeaseTestSupport.slice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.kafka.EmbeddedKafka;
import io.spillway.lease.internal.LogReader;
import io.spillway.pool.registry.Node;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseAdminCommand;
import io.spillway.protocol.v1.LeaseControl;
import io.spillway.protocol.v1.LeaseRelease;
import io.spillway.protocol.v1.LeaseRenewal;
import io.spillway.protocol.v1.LeaseRequest;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.protocol.v1.RevokeLease;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.Pki;
import io.spillway.security.tls.TlsFiles;
import io.spillway.testkit.Await;
import java.time.Clock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Principals that may not, writing the lease topics of a broker that authenticates (SCRAM) and
 * authorizes (StandardAuthorizer with {@link LeaseAcls}), with a leader that checks signatures
 * ({@link LeaseSigning}): edge-west asking, renewing, releasing and revoking in edge-east's name, writing
 * the lease log, using the leader's transactional id, joining the leader group; a principal with no
 * ACL writing requests. The broker refuses what ACLs can refuse; the leader ignores and counts the
 * rest; edge-east's lease is untouched and renews and releases as usual. The broker serves SASL_SSL,
 * as the demo's does, with a certificate of a throwaway CA that the clients trust; a client that does
 * not trust it fails the handshake.
 */
class LeaseAclsTest {

  private static final Duration T = Duration.ofSeconds(20);
  private static final byte[] SECRET = LeaseSigning.newSecret();
  private static final Map<String, String> PASSWORDS = new HashMap<>();
  private static EmbeddedKafka kafka;
  private static String bootstrap;
  @TempDir
  static Path pki;

  @BeforeAll
  static void startKafka() {
    // The broker's certificate names no Spillway component: only its host (127.0.0.1) is checked.
    TlsFiles broker = Pki.create("lease ACL test CA").issue(pki.resolve("kafka"), "kafka", List.of(),
        List.of("127.0.0.1"), Pki.KeyType.EC, Pki.DEFAULT_VALIDITY);
    kafka = new EmbeddedKafka().secured("broker", password())
        .withTls(new EmbeddedKafka.Tls(broker.cert(), broker.key(), broker.trustedCa()));
    bootstrap = kafka.start();
    for (String user : List.of("center", "edge-east", "edge-west", "mallory")) {
      PASSWORDS.put(user, password());
      kafka.upsertUser(user, PASSWORDS.get(user));
    }
    List<org.apache.kafka.common.acl.AclBinding> acls = new ArrayList<>(LeaseAcls.center("User:center"));
    acls.addAll(LeaseAcls.edge("User:edge-east"));
    acls.addAll(LeaseAcls.edge("User:edge-west"));
    LeaseAcls.create(bootstrap, kafka.superUserProperties(), acls);
    LeaseTopics.ensure(bootstrap, (short) 1, props("center"));
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.stop();
    }
  }

  private static String password() {
    return UUID.randomUUID().toString().replace("-", "");
  }

  private static Map<String, String> props(String user) {
    return kafka.clientPropertiesFor(user, PASSWORDS.get(user));
  }

  private static LeaseConfig config(String user) {
    return LeaseTestSupport.fastConfig().withKafkaProperties(props(user));
  }

  /** A raw producer authenticated as {@code user}, as an attacker holding that principal would write. */
  private static KafkaProducer<String, byte[]> producer(String user, String transactionalId) {
    Properties p = new Properties();
    p.putAll(props(user));
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, org.apache.kafka.common.serialization.StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
        org.apache.kafka.common.serialization.ByteArraySerializer.class);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    if (transactionalId != null) {
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    }
    return new KafkaProducer<>(p);
  }

  /** Writes {@code value} as edge-west, signed with edge-west's own key, naming whoever the value names. */
  private static void asWest(KafkaProducer<String, byte[]> west, String topic, String key, byte[] value)
      throws Exception {
    ProducerRecord<String, byte[]> r = new ProducerRecord<>(topic, key, value);
    LeaseSigning.sign(LeaseSigning.edgeKey(SECRET, "edge-west"), topic, key, value, r.headers());
    west.send(r).get(15, TimeUnit.SECONDS);
  }

  private static Throwable cause(ExecutionException e) {
    return e.getCause();
  }

  @Test
  void theBrokerServesSaslSslAndAClientThatDoesNotTrustItsCaFailsTheHandshake() throws Exception {
    assertEquals("SASL_SSL", kafka.securityProtocol());
    assertEquals("SASL_SSL", props("center").get("security.protocol"));
    // edge-east's own credentials, but the JDK's default trust store instead of the run's CA.
    Map<String, String> untrusting = new HashMap<>(props("edge-east"));
    untrusting.remove("ssl.truststore.type");
    untrusting.remove("ssl.truststore.location");
    Properties p = new Properties();
    p.putAll(untrusting);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, org.apache.kafka.common.serialization.StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
        org.apache.kafka.common.serialization.ByteArraySerializer.class);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    try (KafkaProducer<String, byte[]> stranger = new KafkaProducer<>(p)) {
      Exception e = assertThrows(Exception.class, () -> stranger.send(new ProducerRecord<>(
          LeaseTopics.REQUESTS, "edge-east", new byte[] {1})).get(15, TimeUnit.SECONDS));
      Throwable t = e instanceof ExecutionException ? e.getCause() : e;
      assertTrue(t instanceof SslAuthenticationException, String.valueOf(t));
    }
  }

  @Test
  void whatAPrincipalMayNotDoIsRefusedAndTheRightfulEdgeCarriesOn() throws Exception {
    List<Node> center = List.of(node("c1", 1, 32, "A100"));
    try (LeaseManager leader = new LeaseManager(bootstrap, "center-1", LeaseTestSupport.placer(center),
            CenterInventory.of(center), config("center"), Clock.systemUTC())
            .verifying(LeaseSigning.verifier(SECRET));
        LeaseClient east = new LeaseClient(bootstrap, "edge-east", config("edge-east"), Clock.systemUTC())
            .signWith(LeaseSigning.edgeKey(SECRET, "edge-east"));
        KafkaProducer<String, byte[]> west = producer("edge-west", null)) {
      leader.start();
      east.start(T);
      Await.until(T, "center-1 leads", leader::isLeader);
      Lease lease = east.request(slice(8, 0), T).get(25, TimeUnit.SECONDS);
      assertEquals(LeaseState.GRANTED, lease.getState(), lease.getReason());
      String id = lease.getLeaseId();

      // edge-west asks for capacity in edge-east's name, renews, releases and revokes edge-east's lease.
      String forgedRequest = UUID.randomUUID().toString();
      asWest(west, LeaseTopics.REQUESTS, "edge-east", LeaseRequest.newBuilder().setVersion(1)
          .setRequestId(forgedRequest).setEdge("edge-east").setSlice(slice(8, 0)).build().toByteArray());
      asWest(west, LeaseTopics.RENEWALS, id, LeaseControl.newBuilder().setRenewal(LeaseRenewal.newBuilder()
          .setVersion(1).setLeaseId(id).setEpoch(1).setEdge("edge-east")).build().toByteArray());
      asWest(west, LeaseTopics.RENEWALS, id, LeaseControl.newBuilder().setRelease(LeaseRelease.newBuilder()
          .setVersion(1).setLeaseId(id).setEpoch(1).setEdge("edge-east")).build().toByteArray());
      asWest(west, LeaseTopics.RENEWALS, id, LeaseControl.newBuilder().setAdmin(LeaseAdminCommand.newBuilder()
          .setVersion(1).setAdmin("ops").setRevoke(RevokeLease.newBuilder().setLeaseId(id).setReason("x")))
          .build().toByteArray());
      // Unsigned, too.
      west.send(new ProducerRecord<>(LeaseTopics.RENEWALS, id, LeaseControl.newBuilder().setRelease(
          LeaseRelease.newBuilder().setVersion(1).setLeaseId(id).setEpoch(1).setEdge("edge-east")).build()
          .toByteArray())).get(15, TimeUnit.SECONDS);
      Await.until(T, "the leader ignored the five forged records", () -> leader.rejectedRecords() == 5);

      // The broker refuses edge-west the lease log, the leader's transactional id and the leader group.
      ExecutionException logWrite = assertThrows(ExecutionException.class, () -> west.send(new ProducerRecord<>(
          LeaseTopics.LOG, id, Lease.newBuilder().setVersion(1).setLeaseId(id).setEdge("edge-west").setEpoch(9)
              .setState(LeaseState.RELEASED).build().toByteArray())).get(15, TimeUnit.SECONDS));
      assertTrue(cause(logWrite) instanceof TopicAuthorizationException, String.valueOf(cause(logWrite)));
      try (KafkaProducer<String, byte[]> usurper = producer("edge-west", LeaseTopics.LEADER_TRANSACTIONAL_ID)) {
        assertThrows(TransactionalIdAuthorizationException.class, usurper::initTransactions);
      }
      Properties c = new Properties();
      c.putAll(props("edge-west"));
      c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      c.put(ConsumerConfig.GROUP_ID_CONFIG, LeaseTopics.LEADER_GROUP);
      c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
          org.apache.kafka.common.serialization.StringDeserializer.class);
      c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
          org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
      try (KafkaConsumer<String, byte[]> joiner = new KafkaConsumer<>(c)) {
        joiner.subscribe(List.of(LeaseTopics.REQUESTS, LeaseTopics.RENEWALS));
        assertThrows(GroupAuthorizationException.class, () -> {
          for (int i = 0; i < 100; i++) {
            joiner.poll(Duration.ofMillis(100));
          }
        });
      }
      // Nor may edge-west read the other edges' requests (to replay them).
      c.remove(ConsumerConfig.GROUP_ID_CONFIG);
      try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(c)) {
        reader.assign(List.of(new org.apache.kafka.common.TopicPartition(LeaseTopics.REQUESTS, 0)));
        reader.seekToBeginning(reader.assignment());
        assertThrows(TopicAuthorizationException.class, () -> {
          for (int i = 0; i < 100; i++) {
            reader.poll(Duration.ofMillis(100));
          }
        });
      }
      // A principal with no ACL at all cannot even ask.
      try (KafkaProducer<String, byte[]> mallory = producer("mallory", null)) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> mallory.send(new ProducerRecord<>(
            LeaseTopics.REQUESTS, "edge-east", new byte[] {1})).get(15, TimeUnit.SECONDS));
        assertTrue(cause(e) instanceof TopicAuthorizationException, String.valueOf(cause(e)));
      }

      // edge-east's lease is as it was: GRANTED at epoch 1, no lease answers the forged request.
      Map<String, Lease> log = new HashMap<>();
      LogReader.readAll(bootstrap, props("center"), "test", T, (offset, key, l) -> log.put(key, l));
      assertEquals(LeaseState.GRANTED, log.get(id).getState());
      assertEquals(1, log.get(id).getEpoch());
      assertTrue(!log.containsKey("lease-" + forgedRequest), "the request forged in edge-east's name got no lease");
      assertEquals(1, log.size());
      // And edge-east renews and releases as usual.
      Lease renewed = east.renew(lease, T).get(25, TimeUnit.SECONDS);
      assertEquals(LeaseState.GRANTED, renewed.getState());
      assertEquals(2, renewed.getEpoch());
      assertEquals(LeaseState.RELEASED, east.release(renewed, T).get(25, TimeUnit.SECONDS).getState());
      assertEquals(5, leader.rejectedRecords(), "edge-east's own records were all taken");
    }
  }
}
