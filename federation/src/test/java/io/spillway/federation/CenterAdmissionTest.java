package io.spillway.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.lease.LeaseAcls;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseSigning;
import io.spillway.lease.LeaseTopics;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseControl;
import io.spillway.protocol.v1.LeaseRef;
import io.spillway.protocol.v1.LeaseRelease;
import io.spillway.protocol.v1.LeaseRenewal;
import io.spillway.protocol.v1.LeaseRequest;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import io.spillway.testkit.Await;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Attempts to open sessions at a center that requires a proven edge (mutual TLS, stood in for by
 * {@link TestPeers}), over real gRPC on loopback and a real broker, while a well-behaved edge's spilled
 * session runs: no lease, a forged lease id, stale and future epochs, a second session beyond what the
 * lease carries, a caller that is not an edge, no proven caller, and another edge presenting the lease.
 * Each is refused with its status, and the spilled session goes on computing the right results. The
 * broker authenticates and authorizes ({@link Federation.Builder#secureKafka}), so another edge's attempts
 * on the spilled session's lease through Kafka are refused too.
 */
class CenterAdmissionTest {

  private static final long GIB = Federation.GIB;

  private static Federation federation;
  private static Federation.Edge east;
  private static SpillwayClient client;
  private static final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeAll
  static void federation() throws Exception {
    // Leases long enough that no renewal moves an epoch while the test presents it.
    federation = Federation.builder().secureKafka()
        .leases(Federation.FAST_LEASES.withLeaseDuration(Duration.ofSeconds(120)))
        .centerSecurity(new CenterSecurity(List.of(new TestPeers(TestPeers.edge("edge-east"))), true))
        .start();
    east = federation.edge("east", FailoverConfig.off());
    federation.node(east.core(), "edge-node", "edge/east", 1, 8 * GIB);
    client = SpillwayClient.connect(east.address());
  }

  /** Each test starts from an idle edge, whatever ran before it. */
  @AfterEach
  void idle() {
    Await.until("the edge holds no session", () -> east.core().sessions().isEmpty());
    Await.until("the edge holds no lease", () -> east.spill().borrowed().isEmpty());
  }

  @AfterAll
  static void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    if (client != null) {
      client.close();
    }
    if (federation != null) {
      federation.close();
    }
  }

  /** A session opened straight at the center, as {@code peer} ("role/name", or "none"). */
  private static final class RawSession {
    final LinkedBlockingQueue<Object> replies = new LinkedBlockingQueue<>();
    final StreamObserver<ClientFrame> requests;

    RawSession(String peer, LeaseRef lease, long memoryBytes) {
      ManagedChannel channel = NettyChannelBuilder.forTarget(federation.centerAddress()).usePlaintext().build();
      channels.add(channel);
      Metadata headers = new Metadata();
      headers.put(TestPeers.HEADER, peer);
      var stub = GpuSessionServiceGrpc.newStub(channel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
      requests = stub.session(new StreamObserver<>() {
        @Override
        public void onNext(ServerFrame f) {
          replies.addAll(f.getRepliesList());
        }

        @Override
        public void onError(Throwable t) {
          replies.add(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {}
      });
      Open.Builder open = Open.newBuilder().setProtocolVersion(1).setTenant("acme")
          .setSlice(io.spillway.protocol.v1.SliceRequest.newBuilder().setMemoryBytes(memoryBytes));
      if (lease != null) {
        open.setLease(lease);
      }
      requests.onNext(ClientFrame.newBuilder().addOps(Op.newBuilder().setSeq(1).setOpen(open)).build());
    }

    Reply first() throws InterruptedException {
      Object first = replies.poll(15, TimeUnit.SECONDS);
      assertTrue(first instanceof Reply, "a reply to the open, not " + first);
      return (Reply) first;
    }

    void close() {
      requests.onCompleted();
    }
  }

  private static void assertRefused(RawSession s, Status.Code code, String... words) throws InterruptedException {
    Reply r = s.first();
    assertTrue(r.hasError(), "the open is refused: " + r);
    assertEquals(code.value(), r.getError().getCode(), r.getError().getDescription());
    for (String w : words) {
      assertTrue(r.getError().getDescription().contains(w), "'" + w + "' in: " + r.getError().getDescription());
    }
  }

  private static LeaseRef ref(String leaseId, long epoch) {
    return LeaseRef.newBuilder().setLeaseId(leaseId).setEpoch(epoch).build();
  }

  @Test
  void everyAttemptIsRefusedWhileTheSpilledSessionComputesOn() throws Exception {
    MlpModel model = MlpModel.random(5, 32, 64, 8);
    float[] x = model.randomInput(3, 8);
    float[] cpu = model.forwardCpu(x, 8);
    try (GpuSession local = client.open(SliceRequest.builder().tenant("acme").memoryBytes(6 * GIB).build());
        GpuSession spilled = client.open(SliceRequest.builder().tenant("acme").memoryBytes(6 * GIB).build())) {
      assertEquals("center", spilled.devices().get(0).pool());
      MlpService service = new MlpService(spilled, model, 8);
      assertTrue(MlpModel.maxAbsDiff(service.infer(x, 8), cpu) < 1e-5);
      Lease lease = east.spill().borrowed().values().iterator().next();
      String id = lease.getLeaseId();
      assertEquals(1, lease.getEpoch());
      assertEquals(1, federation.center().authority().sessions(id), "the spilled session is charged to its lease");

      // No lease: the center places nothing outside the lease book.
      assertRefused(new RawSession("edge/edge-east", null, GIB), Status.Code.PERMISSION_DENIED,
          "only under a lease", "open.lease is not set");
      // A forged lease id.
      assertRefused(new RawSession("edge/edge-east", ref("lease-forged", 1), GIB), Status.Code.NOT_FOUND,
          "lease-forged is not in the lease log");
      // Epoch 0 (which the old check let through) and a future epoch.
      assertRefused(new RawSession("edge/edge-east", ref(id, 0), GIB), Status.Code.FAILED_PRECONDITION,
          "at epoch 1", "names epoch 0", "stale");
      assertRefused(new RawSession("edge/edge-east", ref(id, 7), GIB), Status.Code.FAILED_PRECONDITION,
          "at epoch 1", "names epoch 7");
      // The lease's own edge, a second session: the lease carries one.
      assertRefused(new RawSession("edge/edge-east", ref(id, 1), GIB), Status.Code.RESOURCE_EXHAUSTED,
          id, "limit of 1");
      // Not an edge; no proven caller; another edge with east's lease.
      assertRefused(new RawSession("client/mallory", ref(id, 1), GIB), Status.Code.PERMISSION_DENIED,
          "only an edge may open sessions at the center", "mallory");
      assertRefused(new RawSession("none", ref(id, 1), GIB), Status.Code.PERMISSION_DENIED,
          "only an edge may open sessions at the center", "no edge certificate");
      assertRefused(new RawSession("edge/edge-west", ref(id, 1), GIB), Status.Code.PERMISSION_DENIED,
          "held by edge 'edge-east'", "edge 'edge-west'");

      assertEquals(1, federation.center().authority().sessions(id), "no refused open was charged");
      assertEquals(0f, MlpModel.maxAbsDiff(service.infer(x, 8), new MlpService(local, model, 8).infer(x, 8)),
          "the spilled session still computes what a local one does");
      spilled.close();
      Await.until("the lease's charge is given back when its session ends",
          () -> federation.center().authority().sessions(id) == 0);
    }
  }

  @Test
  void sessionsUnderOneLeaseShareItsMemoryAndNoMore() throws Exception {
    LeaseClient west = federation.leaseClient("edge-west");
    Lease lease = west.request(LeaseSlice.newBuilder().setGpuCount(1).setMemoryBytes(4 * GIB).setMaxSessions(2)
        .build(), Duration.ofSeconds(20)).get(25, TimeUnit.SECONDS);
    assertEquals(LeaseState.GRANTED, lease.getState(), lease.getReason());
    LeaseRef ref = ref(lease.getLeaseId(), lease.getEpoch());
    try {
      RawSession three = new RawSession("edge/edge-west", ref, 3 * GIB);
      assertTrue(!three.first().hasError(), "3 of the lease's 4 GiB");
      assertRefused(new RawSession("edge/edge-west", ref, 2 * GIB), Status.Code.RESOURCE_EXHAUSTED,
          lease.getLeaseId(), "holds " + 4 * GIB + " bytes per GPU", 2 * GIB + " more do not fit");
      RawSession one = new RawSession("edge/edge-west", ref, GIB);
      assertTrue(!one.first().hasError(), "the last GiB");
      assertRefused(new RawSession("edge/edge-west", ref, GIB / 2), Status.Code.RESOURCE_EXHAUSTED,
          "carries 2 session(s), its limit of 2");
      three.close();
      Await.until("the 3 GiB session's charge is given back",
          () -> federation.center().authority().sessions(lease.getLeaseId()) == 1);
      RawSession again = new RawSession("edge/edge-west", ref, 2 * GIB);
      assertTrue(!again.first().hasError(), "2 GiB fit once the 3 GiB session ended");
      again.close();
      one.close();
    } finally {
      west.release(lease, Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
    }
  }

  @Test
  void anotherEdgeCannotTouchTheSpilledSessionsLeaseThroughKafka() throws Exception {
    MlpModel model = MlpModel.random(7, 32, 64, 8);
    float[] x = model.randomInput(4, 8);
    float[] cpu = model.forwardCpu(x, 8);
    Map<String, String> westKafka = federation.kafkaUser("edge-west", LeaseAcls.edge("User:edge-west"));
    byte[] westKey = federation.edgeKey("edge-west");
    try (GpuSession local = client.open(SliceRequest.builder().tenant("acme").memoryBytes(6 * GIB).build());
        GpuSession spilled = client.open(SliceRequest.builder().tenant("acme").memoryBytes(6 * GIB).build());
        KafkaProducer<String, byte[]> west = producer(westKafka)) {
      assertEquals("center", spilled.devices().get(0).pool());
      MlpService service = new MlpService(spilled, model, 8);
      assertTrue(MlpModel.maxAbsDiff(service.infer(x, 8), cpu) < 1e-5);
      Lease lease = east.spill().borrowed().values().iterator().next();
      String id = lease.getLeaseId();
      long rejectedBefore = federation.center().manager().rejectedRecords();

      // edge-west releases and renews edge-east's lease, and asks in edge-east's name, signing as itself.
      send(west, westKey, LeaseTopics.RENEWALS, id, LeaseControl.newBuilder().setRelease(LeaseRelease.newBuilder()
          .setVersion(1).setLeaseId(id).setEpoch(lease.getEpoch()).setEdge("edge-east")).build().toByteArray());
      send(west, westKey, LeaseTopics.RENEWALS, id, LeaseControl.newBuilder().setRenewal(LeaseRenewal.newBuilder()
          .setVersion(1).setLeaseId(id).setEpoch(lease.getEpoch()).setEdge("edge-east")).build().toByteArray());
      send(west, westKey, LeaseTopics.REQUESTS, "edge-east", LeaseRequest.newBuilder().setVersion(1)
          .setRequestId(UUID.randomUUID().toString()).setEdge("edge-east").setSlice(LeaseSlice.newBuilder()
              .setGpuCount(1).setMemoryBytes(GIB)).build().toByteArray());
      Await.until("the leader ignored edge-west's three records in edge-east's name",
          () -> federation.center().manager().rejectedRecords() == rejectedBefore + 3);
      // And the broker refuses edge-west a write to the lease log.
      ExecutionException e = assertThrows(ExecutionException.class, () -> west.send(new ProducerRecord<>(
          LeaseTopics.LOG, id, Lease.newBuilder().setVersion(1).setLeaseId(id).setEdge("edge-east")
              .setEpoch(lease.getEpoch() + 1).setState(LeaseState.RELEASED).build().toByteArray()))
          .get(15, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof TopicAuthorizationException, String.valueOf(e.getCause()));

      assertEquals(LeaseState.GRANTED, federation.center().view().lease(id).orElseThrow().getState());
      assertEquals(0f, MlpModel.maxAbsDiff(service.infer(x, 8), new MlpService(local, model, 8).infer(x, 8)),
          "the spilled session still computes what a local one does");
    }
  }

  private static KafkaProducer<String, byte[]> producer(Map<String, String> security) {
    Properties p = new Properties();
    p.putAll(security);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, federation.bootstrap());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    return new KafkaProducer<>(p);
  }

  private static void send(KafkaProducer<String, byte[]> producer, byte[] key, String topic, String recordKey,
      byte[] value) throws Exception {
    ProducerRecord<String, byte[]> r = new ProducerRecord<>(topic, recordKey, value);
    LeaseSigning.sign(key, topic, recordKey, value, r.headers());
    producer.send(r).get(15, TimeUnit.SECONDS);
  }
}
