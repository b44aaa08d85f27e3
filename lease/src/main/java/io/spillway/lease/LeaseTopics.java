package io.spillway.lease;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * The three lease topics and their configurations. Each has exactly one partition: the requests and
 * renewals topics so that one member of the leader group is assigned them (that member is the leader),
 * the log so that it has one total order (the invariant is stated "at every offset").
 */
public final class LeaseTopics {

  /** Key: edge. Value: {@code LeaseRequest}. Delete policy, 1 day. */
  public static final String REQUESTS = "spillway.lease-requests";
  /** Key: lease id. Value: {@code Lease}. Compacted: the latest record of each lease is its state. */
  public static final String LOG = "spillway.lease-log";
  /** Key: lease id (or edge). Value: {@code LeaseControl} (renewal, release, admin). Delete, 1 day. */
  public static final String RENEWALS = "spillway.lease-renewals";

  /** The consumer group whose single assigned member is the leader. */
  public static final String LEADER_GROUP = "spillway-lease-leader";
  /** The leader's transactional id: fixed, so that each new leader fences the one before. */
  public static final String LEADER_TRANSACTIONAL_ID = "spillway-lease-leader";

  private LeaseTopics() {}

  /** The topics as created by {@link #ensure}. */
  public static List<NewTopic> definitions(short replicationFactor) {
    String oneDay = String.valueOf(24L * 3600 * 1000);
    String minIsr = String.valueOf(Math.max(1, replicationFactor - 1));
    return List.of(
        new NewTopic(REQUESTS, 1, replicationFactor)
            .configs(Map.of("cleanup.policy", "delete", "retention.ms", oneDay,
                "min.insync.replicas", minIsr)),
        new NewTopic(LOG, 1, replicationFactor)
            .configs(Map.of("cleanup.policy", "compact", "min.insync.replicas", minIsr,
                // Terminal records are kept (they are the answer to a request and dedupe it).
                "min.compaction.lag.ms", String.valueOf(3600L * 1000))),
        new NewTopic(RENEWALS, 1, replicationFactor)
            .configs(Map.of("cleanup.policy", "delete", "retention.ms", oneDay,
                "min.insync.replicas", minIsr)));
  }

  /** Creates whichever of the topics is missing. Idempotent; safe to race with another creator. */
  public static void ensure(String bootstrapServers, short replicationFactor) {
    ensure(bootstrapServers, replicationFactor, Map.of());
  }

  /** As {@link #ensure(String, short)}, with the client security settings of {@link KafkaClientProperties}. */
  public static void ensure(String bootstrapServers, short replicationFactor, Map<String, String> security) {
    Properties props = new Properties();
    props.putAll(KafkaClientProperties.check("", security));
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    try (Admin admin = Admin.create(props)) {
      List<Throwable> failures = new ArrayList<>();
      admin.createTopics(definitions(replicationFactor)).values().forEach((name, future) -> {
        try {
          future.get();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            failures.add(new IllegalStateException("cannot create topic " + name, e.getCause()));
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          failures.add(e);
        }
      });
      if (!failures.isEmpty()) {
        IllegalStateException e = new IllegalStateException(
            "lease topics not ready on " + bootstrapServers + ": " + failures.get(0).getMessage());
        failures.forEach(e::addSuppressed);
        throw e;
      }
    }
  }
}
