package io.spillway.lease;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import io.spillway.lease.internal.LeaseRecords;
import io.spillway.lease.internal.LogReader;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseControl;
import io.spillway.protocol.v1.LeaseRequest;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;

/**
 * The center's lease leader loop: wins leadership through Kafka, feeds what it consumes to a
 * {@link LeaseStateMachine}, writes what the machine returns, and publishes what was written to readers.
 *
 * <p><b>Leadership.</b> Every center replica runs one manager; all join the consumer group
 * {@value LeaseTopics#LEADER_GROUP} on the single-partition requests and renewals topics, with the
 * range assignor, so at most one member is assigned both partitions: that member is the leader. On
 * assignment it opens a transactional producer with the fixed id
 * {@value LeaseTopics#LEADER_TRANSACTIONAL_ID} ({@code initTransactions} fences every earlier leader and
 * aborts its open transaction), then reads the whole lease log (read_committed) into the machine
 * ({@link LeaseStateMachine#restore}), and only then handles requests.
 *
 * <p><b>Exactly once.</b> Each poll's records are handled in one transaction that holds the resulting
 * lease records <em>and</em> the consumed offsets ({@code sendOffsetsToTransaction} with the consumer's
 * group metadata). So a request is answered in the log if and only if it is consumed, whoever leads.
 * A transaction that fails otherwise is aborted and the machine restored from the log, since it is
 * then ahead of it.
 *
 * <p><b>Fencing.</b> A write that fails because a newer leader took over (producer fenced, or the
 * offset commit refused for an old group generation) stops this manager for good: it drops its state
 * and releases its leases from the placer. {@link #role()} is then {@link Role#FENCED}.
 *
 * <p><b>Threading.</b> All work runs on one thread owned by the manager, started by {@link #start()};
 * the machine and the placer's leases are touched from that thread only. Readers see an immutable
 * snapshot of the leases, replaced after each commit, restore and drop: never a record that is not (or
 * not yet) committed.
 */
public final class LeaseManager implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(LeaseManager.class.getName());
  private static final Duration POLL = Duration.ofMillis(50);
  private static final TopicPartition REQUESTS_TP = new TopicPartition(LeaseTopics.REQUESTS, 0);

  /** Where a manager stands. */
  public enum Role {
    /** Created, not started. */
    NEW,
    /** In the group, not assigned: another member leads (or none yet). */
    FOLLOWER,
    /** Assigned the inputs, producer initialized, state rebuilt: granting. */
    LEADER,
    /** A newer leader fenced it; it stopped and dropped its state. Terminal. */
    FENCED,
    /** Closed, or killed. Terminal. */
    CLOSED
  }

  private final String bootstrapServers;
  private final String memberId;
  private final LeaseConfig config;
  private final InstantSource clock;
  private final LeaseStateMachine machine;

  // Published to readers; every other field is the loop thread's.
  private volatile Map<String, Lease> committed = Map.of();
  private volatile Role role = Role.NEW;
  private volatile Throwable failure;
  private volatile boolean stopping;
  private volatile boolean killed;
  private volatile Runnable beforeCommit = () -> {};
  private volatile LeaseSigning signatures;
  private final java.util.concurrent.atomic.AtomicLong rejected = new java.util.concurrent.atomic.AtomicLong();
  private boolean assigned;
  private boolean transactionsReady;
  private KafkaConsumer<String, byte[]> consumer;
  private KafkaProducer<String, byte[]> producer;
  private Thread thread;

  /**
   * @param bootstrapServers the Kafka cluster holding the lease topics
   * @param memberId this replica's name, written as {@code granted_by} in every record it writes
   * @param placer the center pool's placer, fed with the center's GPUs (the same ones as
   *     {@code inventory}); leases are placed on it as sessions
   * @param inventory the center GPUs, by UUID; grants are checked against it
   * @param config lease duration, drain period, group timeouts, Kafka timeouts
   * @param clock deadlines are {@code clock.instant() + duration}; expiry runs when the clock passes them
   */
  public LeaseManager(String bootstrapServers, String memberId, SlicePlacer placer,
      CenterInventory inventory, LeaseConfig config, InstantSource clock) {
    this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    this.memberId = Objects.requireNonNull(memberId, "memberId");
    this.config = Objects.requireNonNull(config, "config");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.machine = new LeaseStateMachine(memberId, placer, inventory, config);
  }
  /** Joins the leader group on a thread of its own. Topics must exist ({@link LeaseTopics#ensure}). */
  public synchronized void start() {
    if (role != Role.NEW) {
      throw new IllegalStateException("lease manager " + memberId + " is " + role);
    }
    Properties p = LeaseRecords.consumerProps(bootstrapServers, memberId, config.kafkaProperties());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, LeaseTopics.LEADER_GROUP);
    p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName());
    p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) config.sessionTimeout().toMillis());
    p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG,
        (int) Math.max(100, config.sessionTimeout().toMillis() / 4));
    p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) config.maxPollInterval().toMillis());
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 200);
    consumer = new KafkaConsumer<>(p);
    role = Role.FOLLOWER;
    thread = new Thread(this::run, "lease-manager-" + memberId);
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Takes a request, renewal or release only when it carries the signature of the edge it names, and an
   * admin order only when it carries the admin key's ({@link LeaseSigning}); any other record is logged,
   * counted ({@link #rejectedRecords}), consumed and otherwise ignored. Call before {@link #start}.
   */
  public LeaseManager verifying(LeaseSigning signatures) {
    this.signatures = Objects.requireNonNull(signatures, "signatures");
    return this;
  }

  /** Input records refused for a missing or wrong signature since this manager started. */
  public long rejectedRecords() {
    return rejected.get();
  }

  public String memberId() {
    return memberId;
  }

  public Role role() {
    return role;
  }

  public boolean isLeader() {
    return role == Role.LEADER;
  }

  /** Why the manager stopped, if it stopped on an error (fencing included). */
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  /**
   * Leases holding center capacity (GRANTED or DRAINING), as this manager last committed or read them;
   * empty unless leader.
   */
  public Map<String, Lease> liveLeases() {
    Map<String, Lease> out = new LinkedHashMap<>();
    committed.values().stream()
        .filter(l -> LeaseRecords.holdsCapacity(l.getState()))
        .sorted(Comparator.comparing(Lease::getLeaseId))
        .forEach(l -> out.put(l.getLeaseId(), l));
    return out;
  }

  /** The latest committed record of a lease this manager knows of (any state). */
  public Optional<Lease> lease(String leaseId) {
    return Optional.ofNullable(committed.get(leaseId));
  }

  /** Leaves the group (the next member takes over at once) and releases its leases from the placer. */
  @Override
  public void close() {
    stopping = true;
    joinLoop();
  }

  /**
   * Dies as a crashed process would: stops at once without committing the transaction in progress,
   * without leaving the group cleanly and without touching the placer. For failover tests.
   */
  public void kill() {
    killed = true;
    joinLoop();
  }

  /** Test hook: runs on the loop thread after a transaction's records are sent, before its commit. */
  void beforeCommit(Runnable hook) {
    this.beforeCommit = Objects.requireNonNull(hook);
  }

  private void joinLoop() {
    Thread t;
    synchronized (this) {
      t = thread;
      if (t == null) {
        role = Role.CLOSED;
        return;
      }
    }
    if (consumer != null) {
      consumer.wakeup();
    }
    try {
      t.join(Duration.ofSeconds(30).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------- the loop (manager thread only)

  private static final class Killed extends RuntimeException {
    private static final long serialVersionUID = 1L;
  }

  private void run() {
    Role end = Role.CLOSED;
    try {
      consumer.subscribe(List.of(LeaseTopics.REQUESTS, LeaseTopics.RENEWALS), new Rebalance());
      while (!stopping && !killed) {
        ConsumerRecords<String, byte[]> records;
        try {
          records = consumer.poll(POLL);
        } catch (WakeupException e) {
          continue;
        }
        if (assigned && role != Role.LEADER) {
          becomeLeader();
        }
        if (role != Role.LEADER) {
          continue;
        }
        try {
          step(records);
        } catch (Killed e) {
          break;
        } catch (KafkaException e) {
          if (isFenced(e)) {
            throw e;
          }
          LOG.log(Level.WARNING, "lease leader " + memberId + ": transaction failed, aborting and "
              + "rebuilding from the lease log", e);
          producer.abortTransaction();
          rebuild();
          rewindToCommitted();
        }
      }
    } catch (Killed e) {
      // fall through to the abrupt exit
    } catch (RuntimeException e) {
      if (isFenced(e)) {
        LOG.log(Level.WARNING, "lease leader " + memberId + " was fenced by a newer leader; "
            + "stopping and dropping its state: " + e);
        end = Role.FENCED;
      } else {
        LOG.log(Level.ERROR, "lease manager " + memberId + " failed; stopping", e);
      }
      failure = e;
    } finally {
      exit(end);
    }
  }

  private void exit(Role end) {
    if (killed) {
      closeQuietly(producer, Duration.ZERO);
      closeConsumerQuietly(Duration.ZERO);
    } else {
      dropState();
      closeQuietly(producer, Duration.ofSeconds(5));
      closeConsumerQuietly(Duration.ofSeconds(5));
    }
    producer = null;
    role = end;
  }

  private void becomeLeader() {
    if (producer == null) {
      Properties p = LeaseRecords.producerProps(bootstrapServers, memberId + "-txn", config.kafka(),
          config.kafkaProperties());
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, LeaseTopics.LEADER_TRANSACTIONAL_ID);
      p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 10_000);
      producer = new KafkaProducer<>(p);
      transactionsReady = false;
    }
    if (!transactionsReady) {
      // Fences every earlier holder of the transactional id and aborts its open transaction, so the
      // log read below is final: no write from an older leader can commit after it. Bounded by
      // max.block.ms; on a timeout the next poll calls it again, which resumes where it stopped.
      try {
        producer.initTransactions();
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        LOG.log(Level.WARNING, "lease manager " + memberId + ": initTransactions did not finish within "
            + config.kafka().maxBlock() + "; trying again");
        return;
      }
      transactionsReady = true;
    }
    rebuild();
    role = Role.LEADER;
    LOG.log(Level.INFO, "lease leader is now " + memberId + " with " + liveLeases().size()
        + " live leases");
  }

  private void stepDown(String why) {
    if (role == Role.LEADER || producer != null) {
      LOG.log(Level.INFO, "lease manager " + memberId + " steps down: " + why);
    }
    dropState();
    closeQuietly(producer, Duration.ofSeconds(5));
    producer = null;
    if (role == Role.LEADER) {
      role = Role.FOLLOWER;
    }
  }

  /** Replaces the machine's state with what the lease log says (read_committed, to its end). */
  private void rebuild() {
    dropState();
    List<Lease> records = new ArrayList<>();
    try {
      LogReader.readAll(bootstrapServers, config.kafkaProperties(), memberId + "-rebuild", Duration.ofSeconds(30),
          (offset, key, lease) -> {
            if (lease != null) {
              records.add(lease);
            }
          });
    } catch (TimeoutException e) {
      throw new KafkaException("lease leader " + memberId + " could not rebuild: " + e.getMessage(), e);
    }
    machine.restore(records);
    committed = machine.snapshot();
  }

  private void dropState() {
    machine.clear();
    committed = Map.of();
  }

  private void rewindToCommitted() {
    Set<TopicPartition> assignment = consumer.assignment();
    Map<TopicPartition, OffsetAndMetadata> offsets = consumer.committed(assignment);
    for (TopicPartition tp : assignment) {
      OffsetAndMetadata o = offsets.get(tp);
      if (o == null) {
        consumer.seekToBeginning(List.of(tp));
      } else {
        consumer.seek(tp, o.offset());
      }
    }
  }

  /** Handles one poll's records and the expiry due now in one transaction. */
  private void step(ConsumerRecords<String, byte[]> records) {
    long now = clock.instant().toEpochMilli();
    List<Lease> out = new ArrayList<>();
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (ConsumerRecord<String, byte[]> r : records) {
      if (r.topic().equals(LeaseTopics.REQUESTS)) {
        parse(r, LeaseRequest.parser()).filter(req -> signed(r, req.getEdge(), "request " + req.getRequestId()))
            .ifPresent(req -> out.addAll(machine.onRequest(req, now)));
      } else {
        parse(r, LeaseControl.parser()).filter(c -> signed(r, c))
            .ifPresent(c -> out.addAll(machine.onControl(c, now)));
      }
      offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
    }
    out.addAll(machine.expire(now));
    if (out.isEmpty() && offsets.isEmpty()) {
      return;
    }
    producer.beginTransaction();
    for (Lease lease : out) {
      producer.send(new ProducerRecord<>(LeaseTopics.LOG, lease.getLeaseId(), lease.toByteArray()));
    }
    if (!offsets.isEmpty()) {
      producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
    }
    beforeCommit.run();
    if (killed) {
      throw new Killed();
    }
    producer.commitTransaction();
    if (!out.isEmpty()) {
      committed = machine.snapshot();
    }
  }

  private boolean signed(ConsumerRecord<String, byte[]> r, LeaseControl c) {
    return switch (c.getKindCase()) {
      case RENEWAL -> signed(r, c.getRenewal().getEdge(), "renewal of " + c.getRenewal().getLeaseId());
      case RELEASE -> signed(r, c.getRelease().getEdge(), "release of " + c.getRelease().getLeaseId());
      case ADMIN -> signed(r, null, "admin order of '" + c.getAdmin().getAdmin() + "'");
      default -> true; // nothing the machine acts on
    };
  }

  /** True if no signatures are checked, or {@code r} is signed by {@code edge} (null: by the admin key). */
  private boolean signed(ConsumerRecord<String, byte[]> r, String edge, String what) {
    LeaseSigning s = signatures;
    if (s == null) {
      return true;
    }
    boolean ok = edge == null ? s.signedByAdmin(r.topic(), r.key(), r.value(), r.headers())
        : s.signedByEdge(edge, r.topic(), r.key(), r.value(), r.headers());
    if (!ok) {
      rejected.incrementAndGet();
      LOG.log(Level.WARNING, "lease leader " + memberId + ": " + what + " at offset " + r.offset() + " of "
          + r.topic() + (edge == null ? "" : " names edge '" + edge + "' but") + " is not signed by "
          + (edge == null ? "the admin key" : "that edge's key") + "; ignored");
    }
    return ok;
  }

  private static <T> Optional<T> parse(ConsumerRecord<String, byte[]> r, Parser<T> parser) {
    try {
      return Optional.of(parser.parseFrom(r.value()));
    } catch (InvalidProtocolBufferException | NullPointerException e) {
      LOG.log(Level.WARNING, "record at offset " + r.offset() + " of " + r.topic() + " does not parse; skipped");
      return Optional.empty();
    }
  }

  private static boolean isFenced(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException
          || t instanceof CommitFailedException || t instanceof FencedInstanceIdException) {
        return true;
      }
    }
    return false;
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      if (partitions.contains(REQUESTS_TP)) {
        assigned = false;
        stepDown("inputs revoked");
      }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      assigned = false;
      stepDown("group membership lost");
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      // Leadership is taken after poll returns (becomeLeader), not here: initTransactions may have to
      // wait for the previous leader's open transaction to be aborted.
      if (partitions.contains(REQUESTS_TP)) {
        assigned = true;
      }
    }
  }

  private static void closeQuietly(KafkaProducer<?, ?> producer, Duration timeout) {
    if (producer != null) {
      try {
        producer.close(timeout);
      } catch (RuntimeException e) {
        LOG.log(Level.DEBUG, "closing producer", e);
      }
    }
  }

  private void closeConsumerQuietly(Duration timeout) {
    try {
      consumer.close(timeout);
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, "closing consumer", e);
    }
  }
}
