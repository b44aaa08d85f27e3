package io.spillway.lease;

import io.spillway.lease.internal.LeaseRecords;
import io.spillway.lease.internal.LogReader;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseControl;
import io.spillway.protocol.v1.LeaseRelease;
import io.spillway.protocol.v1.LeaseRenewal;
import io.spillway.protocol.v1.LeaseRequest;
import io.spillway.protocol.v1.LeaseSlice;
import io.spillway.protocol.v1.LeaseState;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * An edge's side of leases: asks the center for capacity, renews and releases what it holds, and
 * follows the lease log for its own leases.
 *
 * <p>The client reads the whole lease log (read_committed, no consumer group: every edge sees every
 * record) from offset 0 on a thread of its own, keeping the latest record of each of its edge's leases.
 * Answers are matched by request id (to a request) or by lease id and epoch (to a renewal or release),
 * so a client that restarts finds its live leases again, and an answer written by a new leader after a
 * failover is recognized like any other.
 *
 * <p><b>Clock.</b> Deadlines are on the leader's clock. The edge uses a lease only until
 * {@link #usableUntil} = deadline − skew margin on its own clock, so a skew smaller than the margin
 * never has the edge using capacity the center already reclaimed.
 *
 * <p><b>Blocking.</b> {@link #request}, {@link #renew} and {@link #release} never block their caller:
 * the Kafka send (which may wait up to {@code max.block.ms} for metadata when Kafka is unreachable) runs
 * on the client's own sender thread, and its failure completes the returned future exceptionally. So
 * they may be called from a gRPC or Netty thread. {@link #start} and {@link #close} block.
 *
 * <p>Thread-safe.
 */
public final class LeaseClient implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(LeaseClient.class.getName());

  private final String bootstrapServers;
  /** The edge name of an {@link #observer}: it follows every edge's leases and asks for none. */
  static final String ALL_EDGES = "*";

  private final String edge;
  private final LeaseConfig config;
  private final InstantSource clock;
  private final Map<String, Lease> leases = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Lease>> pendingRequests = new ConcurrentHashMap<>();
  private final Map<String, List<Waiter>> pendingChanges = new ConcurrentHashMap<>();
  private final List<LeaseListener> listeners = new CopyOnWriteArrayList<>();
  private final CountDownLatch caughtUp = new CountDownLatch(1);
  private volatile boolean closed;
  private KafkaProducer<String, byte[]> producer;
  private KafkaConsumer<String, byte[]> consumer;
  private Thread reader;
  /** Runs every producer call, so that none blocks a caller. */
  private ExecutorService sender;

  private record Waiter(long afterEpoch, CompletableFuture<Lease> future) {}

  /** This edge's key ({@link LeaseSigning#edgeKey}), or null: its records then go unsigned. */
  private volatile byte[] signingKey;

  /**
   * @param edge this edge's name: the key of its requests and the tenant its leases are charged to
   * @param config {@link LeaseConfig#skewMargin()} and {@link LeaseConfig#kafka()} are used here
   * @param clock the edge's clock, for {@link #usable}
   */
  public LeaseClient(String bootstrapServers, String edge, LeaseConfig config, InstantSource clock) {
    this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    this.edge = Objects.requireNonNull(edge, "edge");
    if (edge.isBlank()) {
      throw new IllegalArgumentException("edge must not be blank");
    }
    this.config = Objects.requireNonNull(config, "config");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * A client that only reads: it follows the leases of every edge (a center gateway uses it to admit
   * sessions that arrive under a lease). Its {@link #request}, {@link #renew} and {@link #release} fail.
   */
  public static LeaseClient observer(String bootstrapServers, LeaseConfig config, InstantSource clock) {
    return new LeaseClient(bootstrapServers, ALL_EDGES, config, clock);
  }

  /**
   * Starts the producer and the log reader, and waits until the reader has read the log to the end it
   * had when it started (so {@link #liveLeases()} includes leases granted before this client started).
   */
  public synchronized void start(Duration timeout) throws TimeoutException, InterruptedException {
    if (reader != null) {
      throw new IllegalStateException("lease client of " + edge + " already started");
    }
    producer = new KafkaProducer<>(LeaseRecords.producerProps(bootstrapServers, "lease-" + edge, config.kafka(),
        config.kafkaProperties()));
    sender = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "lease-client-send-" + edge);
      t.setDaemon(true);
      return t;
    });
    consumer = new KafkaConsumer<>(LeaseRecords.consumerProps(bootstrapServers, "lease-log-" + edge,
        config.kafkaProperties()));
    reader = new Thread(this::readLog, "lease-client-" + edge);
    reader.setDaemon(true);
    reader.start();
    if (!caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new TimeoutException("lease client of " + edge + ": lease log not read in " + timeout);
    }
  }

  public String edge() {
    return edge;
  }

  /**
   * Signs every request, renewal and release with this edge's key ({@link LeaseSigning#edgeKey}), so a
   * leader that checks signatures takes them as this edge's. Call before {@link #start}.
   */
  public LeaseClient signWith(byte[] edgeKey) {
    if (edgeKey.length < LeaseSigning.MIN_SECRET_BYTES) {
      throw new IllegalArgumentException("the lease signing key of edge " + edge + " has " + edgeKey.length
          + " bytes; at least " + LeaseSigning.MIN_SECRET_BYTES + " are needed");
    }
    this.signingKey = edgeKey.clone();
    return this;
  }

  /**
   * Asks the center for a slice. Completes with the lease-log record answering it: GRANTED (with its
   * slices and deadline) or REFUSED (with a reason naming what was asked and what is free). Completes
   * exceptionally with {@link TimeoutException} if no answer arrives in {@code timeout} (no leader, or
   * Kafka unreachable); the request may still be answered later, and then appears in
   * {@link #liveLeases()}.
   */
  public CompletableFuture<Lease> request(LeaseSlice slice, Duration timeout) {
    Objects.requireNonNull(slice, "slice");
    if (edge.equals(ALL_EDGES)) {
      throw new IllegalStateException("an observer asks for no leases");
    }
    String requestId = UUID.randomUUID().toString();
    CompletableFuture<Lease> answer = new CompletableFuture<>();
    pendingRequests.put(requestId, answer);
    LeaseRequest request = LeaseRequest.newBuilder()
        .setVersion(LeaseRecords.VERSION)
        .setRequestId(requestId)
        .setEdge(edge)
        .setSlice(slice)
        .setRequestedAtMillis(clock.millis())
        .build();
    send(new ProducerRecord<>(LeaseTopics.REQUESTS, edge, request.toByteArray()), answer);
    return answer.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete((lease, error) -> pendingRequests.remove(requestId));
  }

  /**
   * Asks for the lease's deadline to be extended. Completes with the lease's next record: GRANTED with
   * a later deadline when renewed; DRAINING, EXPIRED or REVOKED if that came first (a renewal at a
   * stale epoch is ignored by the leader, so the next record is whatever else changed the lease).
   */
  public CompletableFuture<Lease> renew(Lease lease, Duration timeout) {
    LeaseControl control = LeaseControl.newBuilder().setRenewal(LeaseRenewal.newBuilder()
        .setVersion(LeaseRecords.VERSION)
        .setLeaseId(lease.getLeaseId())
        .setEpoch(lease.getEpoch())
        .setEdge(edge)).build();
    return sendControl(lease, control, timeout);
  }

  /** Gives the lease back. Completes with its next record: RELEASED, or whatever ended it first. */
  public CompletableFuture<Lease> release(Lease lease, Duration timeout) {
    LeaseControl control = LeaseControl.newBuilder().setRelease(LeaseRelease.newBuilder()
        .setVersion(LeaseRecords.VERSION)
        .setLeaseId(lease.getLeaseId())
        .setEpoch(lease.getEpoch())
        .setEdge(edge)).build();
    return sendControl(lease, control, timeout);
  }

  private CompletableFuture<Lease> sendControl(Lease lease, LeaseControl control, Duration timeout) {
    CompletableFuture<Lease> answer = new CompletableFuture<>();
    Waiter waiter = new Waiter(lease.getEpoch(), answer);
    pendingChanges.computeIfAbsent(lease.getLeaseId(), k -> new CopyOnWriteArrayList<>()).add(waiter);
    // The change may already be in (another renewal won the race); answer at once then.
    Lease known = leases.get(lease.getLeaseId());
    if (known != null && known.getEpoch() > lease.getEpoch()) {
      answer.complete(known);
    }
    send(new ProducerRecord<>(LeaseTopics.RENEWALS, lease.getLeaseId(), control.toByteArray()), answer);
    return answer.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete((l, e) -> {
          List<Waiter> waiters = pendingChanges.get(lease.getLeaseId());
          if (waiters != null) {
            waiters.remove(waiter);
          }
        });
  }

  /**
   * Hands the record to the sender thread; a send that fails (Kafka unreachable for max.block.ms, or
   * not acknowledged within delivery.timeout.ms) fails {@code answer}.
   */
  private void send(ProducerRecord<String, byte[]> record, CompletableFuture<Lease> answer) {
    byte[] key = signingKey;
    if (key != null) {
      LeaseSigning.sign(key, record.topic(), record.key(), record.value(), record.headers());
    }
    try {
      sender.execute(() -> {
        try {
          producer.send(record, (metadata, error) -> {
            if (error != null) {
              answer.completeExceptionally(error);
            }
          });
        } catch (RuntimeException e) {
          answer.completeExceptionally(e);
        }
      });
    } catch (RejectedExecutionException e) {
      answer.completeExceptionally(new IllegalStateException("lease client of " + edge + " is closed"));
    }
  }

  /** This edge's leases that hold center capacity (GRANTED or DRAINING), by lease id. */
  public Map<String, Lease> liveLeases() {
    Map<String, Lease> out = new LinkedHashMap<>();
    leases.values().stream()
        .filter(l -> LeaseRecords.holdsCapacity(l.getState()))
        .sorted(Comparator.comparing(Lease::getLeaseId))
        .forEach(l -> out.put(l.getLeaseId(), l));
    return out;
  }

  /** The latest record of one of this edge's leases, as read from the log so far. */
  public Optional<Lease> lease(String leaseId) {
    return Optional.ofNullable(leases.get(leaseId));
  }

  /** The last instant the edge may use the lease: deadline − skew margin. */
  public Instant usableUntil(Lease lease) {
    return Instant.ofEpochMilli(lease.getDeadlineMillis()).minus(config.skewMargin());
  }

  /**
   * How long the edge may still use the lease (its latest known record), on the edge's clock: the time
   * to {@link #usableUntil}; zero or negative once past it.
   */
  public Duration usableFor(Lease lease) {
    Lease latest = leases.getOrDefault(lease.getLeaseId(), lease);
    return Duration.between(clock.instant(), usableUntil(latest));
  }

  /**
   * True if the edge may place sessions on the lease now: its latest known record is GRANTED and the
   * edge's clock is before {@link #usableUntil}. A DRAINING lease is not usable for new sessions.
   */
  public boolean usable(Lease lease) {
    Lease latest = leases.getOrDefault(lease.getLeaseId(), lease);
    return latest.getState() == LeaseState.GRANTED
        && clock.instant().isBefore(usableUntil(latest));
  }

  public void addListener(LeaseListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  public void removeListener(LeaseListener listener) {
    listeners.remove(listener);
  }

  @Override
  public void close() {
    closed = true;
    if (consumer != null) {
      consumer.wakeup();
    }
    if (reader != null) {
      try {
        reader.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (sender != null) {
      sender.shutdown();
      try {
        sender.awaitTermination(config.kafka().maxBlock().toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
    TimeoutException closedError = new TimeoutException("lease client of " + edge + " closed");
    pendingRequests.values().forEach(f -> f.completeExceptionally(closedError));
    pendingChanges.values().forEach(ws -> ws.forEach(w -> w.future.completeExceptionally(closedError)));
  }

  private void readLog() {
    TopicPartition tp = new TopicPartition(LeaseTopics.LOG, 0);
    try {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long startEnd = consumer.endOffsets(List.of(tp)).get(tp);
      while (!closed) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          Lease lease = LogReader.parse(r.value());
          if (lease != null && (edge.equals(ALL_EDGES) || lease.getEdge().equals(edge))) {
            apply(lease);
          }
        }
        if (caughtUp.getCount() > 0 && consumer.position(tp) >= startEnd) {
          caughtUp.countDown();
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      LOG.log(Level.ERROR, "lease client of " + edge + ": lease log reader failed", e);
    } finally {
      consumer.close(Duration.ofSeconds(1));
    }
  }

  private void apply(Lease lease) {
    Lease previous = leases.get(lease.getLeaseId());
    if (previous != null && previous.getEpoch() >= lease.getEpoch()) {
      return;
    }
    leases.put(lease.getLeaseId(), lease);
    if (lease.getEpoch() == 1) {
      CompletableFuture<Lease> answer = pendingRequests.get(lease.getRequestId());
      if (answer != null) {
        answer.complete(lease);
      }
    }
    List<Waiter> waiters = pendingChanges.get(lease.getLeaseId());
    if (waiters != null) {
      for (Waiter w : new ArrayList<>(waiters)) {
        if (lease.getEpoch() > w.afterEpoch) {
          w.future.complete(lease);
        }
      }
    }
    for (LeaseListener listener : listeners) {
      try {
        listener.onLeaseChanged(previous, lease);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "lease listener " + listener + " failed", e);
      }
    }
  }
}
