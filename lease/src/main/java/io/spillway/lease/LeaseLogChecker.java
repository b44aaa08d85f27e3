package io.spillway.lease;

import io.spillway.lease.internal.CapacityBook;
import io.spillway.lease.internal.LeaseRecords;
import io.spillway.lease.internal.LogReader;
import io.spillway.protocol.v1.Lease;
import io.spillway.protocol.v1.LeaseState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

/**
 * Replays the lease log from offset 0 (committed records only) and checks its invariants at every
 * offset:
 *
 * <ul>
 *   <li>the GRANTED and DRAINING leases never hold more of a center card than its memory less reserve,
 *       nor more than 100% of its compute, nor a card that is not in the inventory;
 *   <li>per lease id, epochs strictly increase (so no lease is granted twice with the same epoch), the
 *       first record has epoch 1 and is GRANTED or REFUSED, and a lease never changes after a terminal
 *       state (RELEASED, EXPIRED, REVOKED, REFUSED);
 *   <li>a request id is answered by one lease id only.
 * </ul>
 *
 * <p>On a compacted log, records that compaction removed are not seen; the checks hold on what is left.
 */
public final class LeaseLogChecker {

  /** One broken invariant, at the offset where it broke. */
  public record Violation(long offset, String leaseId, String message) {
    @Override
    public String toString() {
      return "offset " + offset + " (" + leaseId + "): " + message;
    }
  }

  /**
   * @param recordsChecked lease records replayed
   * @param endOffset the log end offset replayed to
   * @param leases distinct lease ids seen
   * @param grants records that put a lease into GRANTED from nothing (first grants)
   * @param violations empty when every invariant held at every offset
   */
  public record Report(long recordsChecked, long endOffset, int leases, long grants,
      List<Violation> violations) {
    public Report {
      violations = List.copyOf(violations);
    }

    public boolean ok() {
      return violations.isEmpty();
    }
  }

  private final String bootstrapServers;
  private final CenterInventory inventory;
  private final java.util.Map<String, String> security;

  public LeaseLogChecker(String bootstrapServers, CenterInventory inventory) {
    this(bootstrapServers, inventory, java.util.Map.of());
  }

  /** @param security client security settings ({@link KafkaClientProperties}) */
  public LeaseLogChecker(String bootstrapServers, CenterInventory inventory, java.util.Map<String, String> security) {
    this.bootstrapServers = Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    this.inventory = Objects.requireNonNull(inventory, "inventory");
    this.security = KafkaClientProperties.check("", security);
  }

  /** Reads the whole log (to its end now) and checks it. */
  public Report check(Duration timeout) throws TimeoutException {
    Replay replay = new Replay(inventory);
    long end = LogReader.readAll(bootstrapServers, security, "lease-log-checker", timeout,
        (offset, key, lease) -> replay.apply(offset, key, lease));
    return replay.report(end);
  }

  /** Checks records given in log order; for tests of the checker and for tools that read elsewhere. */
  public static Report check(CenterInventory inventory, List<Map.Entry<Long, Lease>> records) {
    Replay replay = new Replay(inventory);
    long end = 0;
    for (Map.Entry<Long, Lease> e : records) {
      replay.apply(e.getKey(), e.getValue().getLeaseId(), e.getValue());
      end = e.getKey() + 1;
    }
    return replay.report(end);
  }

  private static final class Replay {
    private final CapacityBook book;
    private final Map<String, Lease> latest = new HashMap<>();
    private final Map<String, String> leaseByRequest = new HashMap<>();
    private final List<Violation> violations = new ArrayList<>();
    private long records;
    private long grants;

    Replay(CenterInventory inventory) {
      this.book = new CapacityBook(inventory);
    }

    void apply(long offset, String key, Lease lease) {
      if (lease == null) {
        violations.add(new Violation(offset, key, "record does not parse as a version "
            + LeaseRecords.VERSION + " Lease"));
        return;
      }
      records++;
      String id = lease.getLeaseId();
      if (!id.equals(key)) {
        violations.add(new Violation(offset, id, "record key '" + key + "' is not the lease id"));
      }
      Lease before = latest.get(id);
      if (before == null) {
        if (lease.getEpoch() != 1) {
          violations.add(new Violation(offset, id, "first record has epoch " + lease.getEpoch()
              + ", expected 1"));
        }
        if (lease.getState() != LeaseState.GRANTED && lease.getState() != LeaseState.REFUSED) {
          violations.add(new Violation(offset, id, "first record is " + lease.getState()
              + ", expected GRANTED or REFUSED"));
        }
      } else {
        if (lease.getEpoch() == before.getEpoch()) {
          violations.add(new Violation(offset, id, "epoch " + lease.getEpoch() + " written twice ("
              + before.getState() + " by " + before.getGrantedBy() + ", then " + lease.getState()
              + " by " + lease.getGrantedBy() + ")"));
        } else if (lease.getEpoch() < before.getEpoch()) {
          violations.add(new Violation(offset, id, "epoch went back from " + before.getEpoch()
              + " to " + lease.getEpoch()));
        }
        if (LeaseRecords.isTerminal(before.getState())) {
          violations.add(new Violation(offset, id, "changed to " + lease.getState() + " after "
              + "terminal state " + before.getState()));
        }
      }
      if (!lease.getRequestId().isEmpty()) {
        String other = leaseByRequest.putIfAbsent(lease.getRequestId(), id);
        if (other != null && !other.equals(id)) {
          violations.add(new Violation(offset, id, "request " + lease.getRequestId()
              + " already answered by " + other));
        }
      }
      if (lease.getState() == LeaseState.GRANTED
          && (before == null || !LeaseRecords.holdsCapacity(before.getState()))) {
        grants++;
      }
      latest.put(id, lease);
      book.free(id);
      if (LeaseRecords.holdsCapacity(lease.getState())) {
        if (lease.getSlicesCount() == 0) {
          violations.add(new Violation(offset, id, lease.getState() + " with no slices"));
        }
        book.hold(id, lease.getSlicesList());
        for (String over : book.overcommitted()) {
          violations.add(new Violation(offset, id, over));
        }
      }
    }

    Report report(long end) {
      return new Report(records, end, latest.size(), grants, violations);
    }
  }
}
