package io.spillway.lease;

import com.google.protobuf.InvalidProtocolBufferException;
import io.spillway.lease.internal.CapacityBook;
import io.spillway.lease.internal.LeaseRecords;
import io.spillway.lease.internal.LogReader;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.Placement;
import io.spillway.pool.placement.SlicePlacer;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseAdminCommand;
import io.spillway.protocol.v1.LeaseControl;
import io.spillway.protocol.v1.LeaseGrantSlice;
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
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
 * The center's lease leader: grants, renews, releases, expires and revokes leases, and writes every
 * change to the lease log.
 *
 * <p><b>Leadership.</b> Every center replica runs one manager; all join the consumer group
 * {@value LeaseTopics#LEADER_GROUP} on the single-partition requests and renewals topics, with the
 * range assignor, so at most one member is assigned both partitions: that member is the leader. On
 * assignment it opens a transactional producer with the fixed id
 * {@value LeaseTopics#LEADER_TRANSACTIONAL_ID} ({@code initTransactions} fences every earlier leader and
 * aborts its open transaction), then reads the whole lease log (read_committed) to rebuild its state,
 * and only then handles requests.
 *
 * <p><b>Exactly once.</b> Each poll's records are handled in one transaction that holds the resulting
 * lease records <em>and</em> the consumed offsets ({@code sendOffsetsToTransaction} with the consumer's
 * group metadata). So a request is answered in the log if and only if it is consumed, whoever leads.
 * A lease id is {@code "lease-" + request_id}: a request seen twice is answered once.
 *
 * <p><b>Capacity.</b> Each lease is placed on the center {@link SlicePlacer} as a session (id = lease
 * id, tenant = edge), so center sessions and leases share one book. Every grant is also checked
 * against a {@link CapacityBook} kept from the lease log itself before it is written: the log's
 * invariant (no card over its memory less reserve, or 100% compute) holds even if the placer's view
 * drifted from the log (see {@link #rebuild} on why it can).
 *
 * <p><b>Fencing.</b> A write that fails because a newer leader took over (producer fenced, or the
 * offset commit refused for an old group generation) stops this manager for good: it drops its state
 * and releases its leases from the placer. {@link #role()} is then {@link Role#FENCED}.
 *
 * <p><b>Threading.</b> All work runs on one thread owned by the manager, started by {@link #start()}.
 * The placer is called from that thread only. Public getters are thread-safe snapshots.
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
  private final SlicePlacer placer;
  private final LeaseConfig config;
  private final InstantSource clock;

  // Owned by the loop thread, except `leases` and `role`, which are read by getters.
  private final Map<String, Lease> leases = new ConcurrentHashMap<>();
  private final CapacityBook book;
  private final Set<String> placed = new HashSet<>();
  private volatile Role role = Role.NEW;
  private volatile Throwable failure;
  private volatile boolean stopping;
  private volatile boolean killed;
  private volatile Runnable beforeCommit = () -> {};
  private boolean assigned;
  private KafkaConsumer<String, byte[]> consumer;
  private KafkaProducer<String, byte[]> producer;
  private Thread thread;

  /**
   * @param bootstrapServers the Kafka cluster holding the lease topics
   * @param memberId this replica's name, written as {@code granted_by} in every record it writes
   * @param placer the center pool's placer, fed with the center's GPUs (the same ones as
   *     {@code inventory}); leases are placed on it as sessions
   * @param inventory the center GPUs, by UUID; grants are checked against it
   * @param config lease duration, drain period, group timeouts
   * @param clock deadlines are {@code clock.instant() + duration}; expiry runs when the clock passes them
   */
  public LeaseManager(String bootstrapServers, String memberId, SlicePlacer placer,
      CenterInventory inventory, LeaseConfig config, InstantSource clock) {
    this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    this.memberId = Objects.requireNonNull(memberId, "memberId");
    this.placer = Objects.requireNonNull(placer, "placer");
    this.book = new CapacityBook(Objects.requireNonNull(inventory, "inventory"));
    this.config = Objects.requireNonNull(config, "config");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** Joins the leader group on a thread of its own. Topics must exist ({@link LeaseTopics#ensure}). */
  public synchronized void start() {
    if (role != Role.NEW) {
      throw new IllegalStateException("lease manager " + memberId + " is " + role);
    }
    Properties p = LeaseRecords.consumerProps(bootstrapServers, memberId);
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

  /** Leases holding center capacity (GRANTED or DRAINING), as this manager knows them; empty unless leader. */
  public Map<String, Lease> liveLeases() {
    Map<String, Lease> out = new LinkedHashMap<>();
    leases.values().stream()
        .filter(l -> LeaseRecords.holdsCapacity(l.getState()))
        .sorted(Comparator.comparing(Lease::getLeaseId))
        .forEach(l -> out.put(l.getLeaseId(), l));
    return out;
  }

  /** The latest record of a lease this manager knows of (any state). */
  public Optional<Lease> lease(String leaseId) {
    return Optional.ofNullable(leases.get(leaseId));
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
      Properties p = LeaseRecords.producerProps(bootstrapServers, memberId + "-txn");
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, LeaseTopics.LEADER_TRANSACTIONAL_ID);
      p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 10_000);
      producer = new KafkaProducer<>(p);
      // Fences every earlier holder of the transactional id and aborts its open transaction, so the
      // log read below is final: no write from an older leader can commit after it.
      producer.initTransactions();
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

  /**
   * Replaces all state with what the lease log says (read_committed, to its end), and places the live
   * leases on the placer again.
   *
   * <p>The placer has no way to put a session on named cards, so a lease is placed again with its
   * recorded size, count and models, and may land on other cards than the log records (the log is what
   * the edge uses). The {@link CapacityBook} is rebuilt from the log exactly and every new grant is
   * checked against it, so the log's invariant holds regardless; what can go wrong is that center
   * sessions see a card as free that a lease holds. A placer method to restore a session on given
   * cards would close that gap.
   */
  private void rebuild() {
    dropState();
    Map<String, Lease> latest = new LinkedHashMap<>();
    try {
      LogReader.readAll(bootstrapServers, memberId + "-rebuild", Duration.ofSeconds(30),
          (offset, key, lease) -> {
            if (lease != null) {
              Lease before = latest.get(lease.getLeaseId());
              if (before == null || before.getEpoch() < lease.getEpoch()) {
                latest.put(lease.getLeaseId(), lease);
              }
            }
          });
    } catch (TimeoutException e) {
      throw new KafkaException("lease leader " + memberId + " could not rebuild: " + e.getMessage(), e);
    }
    leases.putAll(latest);
    for (Lease lease : latest.values()) {
      if (!LeaseRecords.holdsCapacity(lease.getState())) {
        continue;
      }
      book.hold(lease.getLeaseId(), lease.getSlicesList());
      replace(lease);
    }
  }

  /** Puts a live lease back on exactly the cards the lease log says it holds. */
  private void replace(Lease lease) {
    List<LeaseGrantSlice> slices = lease.getSlicesList();
    if (slices.isEmpty()) {
      return;
    }
    List<Slice> exact = slices.stream().map(g -> new Slice(g.getNodeId(), g.getNodeAddress(), g.getGpuIndex(),
        g.getGpuUuid(), g.getModel(), g.getMemoryBytes(), g.getComputePercent())).toList();
    Placement placement = placer.restore(SessionId.of(lease.getLeaseId()), lease.getEdge(), exact);
    if (placement instanceof Placement.Placed) {
      placed.add(lease.getLeaseId());
    } else if (placement instanceof Placement.Rejected r) {
      LOG.log(Level.WARNING, "live lease " + lease.getLeaseId() + " cannot be put back on its cards: "
          + r.message() + "; the lease log still holds its capacity");
    }
  }

  private void dropState() {
    for (String id : placed) {
      placer.release(SessionId.of(id));
    }
    placed.clear();
    book.clear();
    leases.clear();
  }

  private void rewindToCommitted() {
    Set<TopicPartition> assignment = consumer.assignment();
    Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assignment);
    for (TopicPartition tp : assignment) {
      OffsetAndMetadata o = committed.get(tp);
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
        onRequest(r, now, out);
      } else {
        onControl(r, now, out);
      }
      offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
    }
    expire(now, out);
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
  }

  private void onRequest(ConsumerRecord<String, byte[]> r, long now, List<Lease> out) {
    LeaseRequest req;
    try {
      req = LeaseRequest.parseFrom(r.value());
    } catch (InvalidProtocolBufferException | NullPointerException e) {
      LOG.log(Level.WARNING, "lease request at offset " + r.offset() + " does not parse; skipped");
      return;
    }
    if (req.getVersion() != LeaseRecords.VERSION || req.getRequestId().isBlank()) {
      LOG.log(Level.WARNING, "lease request at offset " + r.offset() + " has version "
          + req.getVersion() + " and request id '" + req.getRequestId() + "'; skipped");
      return;
    }
    String leaseId = "lease-" + req.getRequestId();
    if (leases.containsKey(leaseId)) {
      return; // answered already: a retried request
    }
    Lease.Builder lease = Lease.newBuilder()
        .setVersion(LeaseRecords.VERSION)
        .setLeaseId(leaseId)
        .setEdge(req.getEdge())
        .setEpoch(1)
        .setGrantedBy(memberId)
        .setRequestId(req.getRequestId())
        .setRequested(req.getSlice())
        .setUpdatedAtMillis(now)
        .setDeadlineMillis(now);
    LeaseSlice ask = req.getSlice();
    String asked = "edge " + req.getEdge() + " asked for " + ask.getGpuCount() + " GPU(s) with "
        + ask.getMemoryBytes() + " bytes / " + ask.getComputePercent() + "% compute"
        + (ask.getModelsCount() > 0 ? " of model in " + ask.getModelsList() : "");
    SliceRequest request;
    try {
      if (req.getEdge().isBlank()) {
        throw new IllegalArgumentException("edge must not be blank");
      }
      request = SliceRequest.builder(req.getEdge())
          .gpus(ask.getGpuCount())
          .memoryBytes(ask.getMemoryBytes())
          .computePercent(ask.getComputePercent())
          .models(ask.getModelsList().toArray(String[]::new))
          .excludeModels(ask.getExcludeModelsList().toArray(String[]::new))
          .build();
    } catch (IllegalArgumentException e) {
      out.add(remember(lease.setState(LeaseState.REFUSED)
          .setReason(asked + ": invalid request: " + e.getMessage()).build()));
      return;
    }
    Placement placement = placer.place(SessionId.of(leaseId), request);
    if (placement instanceof Placement.Rejected rejected) {
      out.add(remember(lease.setState(LeaseState.REFUSED)
          .setReason(asked + ": " + rejected.reason() + ": " + rejected.message()).build()));
      return;
    }
    List<LeaseGrantSlice> slices = new ArrayList<>();
    for (var s : ((Placement.Placed) placement).slices()) {
      slices.add(LeaseGrantSlice.newBuilder()
          .setNodeId(s.nodeId())
          .setNodeAddress(s.address())
          .setGpuIndex(s.gpuIndex())
          .setGpuUuid(s.gpuUuid())
          .setModel(s.model())
          .setMemoryBytes(s.memoryBytes())
          .setComputePercent(s.computePercent())
          .build());
    }
    Optional<String> why = book.whyNotFits(slices);
    if (why.isPresent()) {
      placer.release(SessionId.of(leaseId));
      out.add(remember(lease.setState(LeaseState.REFUSED)
          .setReason(asked + ": the center placer offered cards the lease log shows as taken: "
              + why.get()).build()));
      return;
    }
    placed.add(leaseId);
    book.hold(leaseId, slices);
    out.add(remember(lease.setState(LeaseState.GRANTED)
        .addAllSlices(slices)
        .setDeadlineMillis(now + config.leaseDuration().toMillis())
        .build()));
  }

  private void onControl(ConsumerRecord<String, byte[]> r, long now, List<Lease> out) {
    LeaseControl control;
    try {
      control = LeaseControl.parseFrom(r.value());
    } catch (InvalidProtocolBufferException | NullPointerException e) {
      LOG.log(Level.WARNING, "lease control record at offset " + r.offset() + " does not parse");
      return;
    }
    switch (control.getKindCase()) {
      case RENEWAL -> onRenewal(control.getRenewal(), now, out);
      case RELEASE -> onRelease(control.getRelease(), now, out);
      case ADMIN -> onAdmin(control.getAdmin(), now, out);
      default -> LOG.log(Level.WARNING, "empty lease control record at offset " + r.offset());
    }
  }

  /** Extends a GRANTED lease whose epoch the edge knows; anything else is ignored (the log answers). */
  private void onRenewal(LeaseRenewal renewal, long now, List<Lease> out) {
    Lease lease = leases.get(renewal.getLeaseId());
    if (renewal.getVersion() != LeaseRecords.VERSION || lease == null
        || lease.getState() != LeaseState.GRANTED || !lease.getEdge().equals(renewal.getEdge())
        || lease.getEpoch() != renewal.getEpoch()) {
      LOG.log(Level.DEBUG, () -> "renewal of " + renewal.getLeaseId() + " e" + renewal.getEpoch()
          + " by " + renewal.getEdge() + " ignored; lease is "
          + (lease == null ? "unknown" : LeaseRecords.describe(lease)));
      return;
    }
    out.add(remember(next(lease, now).setState(LeaseState.GRANTED)
        .setDeadlineMillis(now + config.leaseDuration().toMillis())
        .setReason("renewed").build()));
  }

  private void onRelease(LeaseRelease release, long now, List<Lease> out) {
    Lease lease = leases.get(release.getLeaseId());
    if (release.getVersion() != LeaseRecords.VERSION || lease == null
        || !LeaseRecords.holdsCapacity(lease.getState())
        || !lease.getEdge().equals(release.getEdge())) {
      return;
    }
    out.add(free(next(lease, now).setState(LeaseState.RELEASED).setDeadlineMillis(now)
        .setReason("released by " + release.getEdge()).build()));
  }

  private void onAdmin(LeaseAdminCommand admin, long now, List<Lease> out) {
    if (admin.getVersion() != LeaseRecords.VERSION || !admin.hasRevoke()) {
      return;
    }
    Lease lease = leases.get(admin.getRevoke().getLeaseId());
    if (lease == null || lease.getState() != LeaseState.GRANTED) {
      return;
    }
    out.add(remember(next(lease, now).setState(LeaseState.DRAINING)
        .setDeadlineMillis(now + config.drainDuration().toMillis())
        .setReason("revoked by " + admin.getAdmin() + ": " + admin.getRevoke().getReason())
        .build()));
  }

  private void expire(long now, List<Lease> out) {
    List<Lease> due = new ArrayList<>();
    for (Lease lease : leases.values()) {
      if (LeaseRecords.holdsCapacity(lease.getState()) && lease.getDeadlineMillis() <= now) {
        due.add(lease);
      }
    }
    due.sort(Comparator.comparing(Lease::getLeaseId));
    for (Lease lease : due) {
      boolean draining = lease.getState() == LeaseState.DRAINING;
      out.add(free(next(lease, now)
          .setState(draining ? LeaseState.REVOKED : LeaseState.EXPIRED)
          .setReason((draining ? "drain deadline " : "deadline ")
              + Instant.ofEpochMilli(lease.getDeadlineMillis()) + " passed at "
              + Instant.ofEpochMilli(now))
          .setDeadlineMillis(now)
          .build()));
    }
  }

  private Lease.Builder next(Lease lease, long now) {
    return lease.toBuilder().setEpoch(lease.getEpoch() + 1).setGrantedBy(memberId)
        .setUpdatedAtMillis(now);
  }

  private Lease remember(Lease lease) {
    leases.put(lease.getLeaseId(), lease);
    return lease;
  }

  private Lease free(Lease lease) {
    book.free(lease.getLeaseId());
    if (placed.remove(lease.getLeaseId())) {
      placer.release(SessionId.of(lease.getLeaseId()));
    }
    return remember(lease);
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
