package io.spillway.federation;

import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.pool.session.SpillTarget;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeoutException;

/**
 * An edge's way to the center, without its framework: a lease client following the lease log, a
 * {@link LeaseSpill} borrowing one lease per spilled session, and the {@link GuardedSpillTarget} in front
 * of it. The edge app builds one from its configuration and hands {@link #target()} to its gateway core.
 */
public final class EdgeSpill implements AutoCloseable {

  /**
   * @param kafkaBootstrap the Kafka cluster of the lease topics
   * @param edge this edge's name: the key of its requests and the tenant its leases are charged to
   * @param centers host:port of each center replica, most preferred first
   * @param renewInterval the longest wait between two renewals of a lease; empty: a third of the time
   *     the lease has left, always
   * @param leases skew margin, Kafka timeouts and client security settings (its lease duration only
   *     checks the skew margin)
   * @param signingKey this edge's key ({@link io.spillway.lease.LeaseSigning#edgeKey}): its lease records
   *     are signed with it, for a leader that checks signatures; empty: unsigned
   */
  public record Settings(String kafkaBootstrap, String edge, List<String> centers, LeaseSpill.Mode mode,
      int thresholdPercent, Duration grantTimeout, Optional<Duration> renewInterval, LeaseConfig leases,
      GuardedSpillTarget.Policy policy, Optional<byte[]> signingKey) {

    /** Unsigned lease records. */
    public Settings(String kafkaBootstrap, String edge, List<String> centers, LeaseSpill.Mode mode,
        int thresholdPercent, Duration grantTimeout, Optional<Duration> renewInterval, LeaseConfig leases,
        GuardedSpillTarget.Policy policy) {
      this(kafkaBootstrap, edge, centers, mode, thresholdPercent, grantTimeout, renewInterval, leases, policy,
          Optional.empty());
    }

    public Settings {
      Objects.requireNonNull(signingKey, "signingKey");
      Objects.requireNonNull(kafkaBootstrap, "kafkaBootstrap");
      Objects.requireNonNull(edge, "edge");
      centers = List.copyOf(centers);
      Objects.requireNonNull(mode, "mode");
      Objects.requireNonNull(grantTimeout, "grantTimeout");
      Objects.requireNonNull(renewInterval, "renewInterval");
      Objects.requireNonNull(leases, "leases");
      Objects.requireNonNull(policy, "policy");
    }
  }

  private final LeaseClient client;
  private final ScheduledExecutorService renewals;
  private final LeaseSpill spill;
  private final GuardedSpillTarget guard;

  private EdgeSpill(LeaseClient client, ScheduledExecutorService renewals, LeaseSpill spill,
      GuardedSpillTarget guard) {
    this.client = client;
    this.renewals = renewals;
    this.spill = spill;
    this.guard = guard;
  }

  /**
   * Starts the lease client and waits until it has read the lease log to its end, so the first session
   * that does not fit can borrow at once.
   *
   * @throws TimeoutException if the log is not read within {@code logTimeout} (Kafka unreachable)
   */
  public static EdgeSpill start(Settings s, InstantSource clock, Duration logTimeout)
      throws TimeoutException, InterruptedException {
    LeaseClient client = new LeaseClient(s.kafkaBootstrap(), s.edge(), s.leases(), clock);
    s.signingKey().ifPresent(client::signWith);
    try {
      client.start(logTimeout);
    } catch (TimeoutException | InterruptedException | RuntimeException e) {
      client.close();
      throw e;
    }
    ScheduledExecutorService renewals = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-edge-renewals");
      t.setDaemon(true);
      return t;
    });
    // A third of the time left is always shorter than the lease duration: no interval, no cap.
    Duration cap = s.renewInterval().orElse(s.leases().leaseDuration());
    LeaseSpill spill = new LeaseSpill(client, s.centers(), s.mode(), s.thresholdPercent(), cap, s.grantTimeout(),
        renewals);
    return new EdgeSpill(client, renewals, spill, new GuardedSpillTarget(spill, s.policy()));
  }

  /** What the gateway core spills to: the guarded lease spill. */
  public SpillTarget target() {
    return guard;
  }

  public LeaseSpill leaseSpill() {
    return spill;
  }

  public GuardedSpillTarget guard() {
    return guard;
  }

  public LeaseClient client() {
    return client;
  }

  /** Stops renewing and closes the lease client; close the gateway core first, so its leases go back. */
  @Override
  public void close() {
    renewals.shutdownNow();
    client.close();
  }
}
