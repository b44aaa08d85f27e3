package io.spillway.lease;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The Kafka ACLs of the lease topics: what the broker lets each principal do. With an authorizer that
 * refuses what no ACL allows, these are all the rights the lease protocol needs, and no more:
 *
 * <table>
 *   <caption>ACLs per principal</caption>
 *   <tr><th>principal</th><th>resource</th><th>operations</th></tr>
 *   <tr><td>the center (every replica)</td><td>topic lease-requests</td><td>READ, DESCRIBE, CREATE</td></tr>
 *   <tr><td></td><td>topic lease-renewals</td><td>READ, WRITE (admin orders), DESCRIBE, CREATE</td></tr>
 *   <tr><td></td><td>topic lease-log</td><td>READ, WRITE, DESCRIBE, CREATE</td></tr>
 *   <tr><td></td><td>group {@value LeaseTopics#LEADER_GROUP}</td><td>READ</td></tr>
 *   <tr><td></td><td>transactional id {@value LeaseTopics#LEADER_TRANSACTIONAL_ID}</td><td>WRITE, DESCRIBE</td></tr>
 *   <tr><td>each edge</td><td>topics lease-requests, lease-renewals</td><td>WRITE, DESCRIBE</td></tr>
 *   <tr><td></td><td>topic lease-log</td><td>READ, DESCRIBE</td></tr>
 * </table>
 *
 * <p>So only the center writes the lease log, and only through the leader's transactional id (so
 * fencing holds); only the center can join the leader group (an edge cannot take leadership or stall
 * the election); an edge cannot read other edges' requests and renewals (it cannot replay them). What
 * ACLs cannot do, since all edges write the same two topics, is stop edge A from writing a record that
 * names edge B: {@link LeaseSigning} covers that.
 */
public final class LeaseAcls {

  private LeaseAcls() {}

  /** The ACLs of a center principal, e.g. {@code User:center}. */
  public static List<AclBinding> center(String principal) {
    List<AclBinding> out = new ArrayList<>();
    topic(out, principal, LeaseTopics.REQUESTS, AclOperation.READ, AclOperation.DESCRIBE, AclOperation.CREATE);
    topic(out, principal, LeaseTopics.RENEWALS, AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE,
        AclOperation.CREATE);
    topic(out, principal, LeaseTopics.LOG, AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE,
        AclOperation.CREATE);
    allow(out, principal, new ResourcePattern(ResourceType.GROUP, LeaseTopics.LEADER_GROUP, PatternType.LITERAL),
        AclOperation.READ);
    allow(out, principal, new ResourcePattern(ResourceType.TRANSACTIONAL_ID, LeaseTopics.LEADER_TRANSACTIONAL_ID,
        PatternType.LITERAL), AclOperation.WRITE, AclOperation.DESCRIBE);
    return out;
  }

  /** The ACLs of an edge principal, e.g. {@code User:edge-east}. */
  public static List<AclBinding> edge(String principal) {
    List<AclBinding> out = new ArrayList<>();
    topic(out, principal, LeaseTopics.REQUESTS, AclOperation.WRITE, AclOperation.DESCRIBE);
    topic(out, principal, LeaseTopics.RENEWALS, AclOperation.WRITE, AclOperation.DESCRIBE);
    topic(out, principal, LeaseTopics.LOG, AclOperation.READ, AclOperation.DESCRIBE);
    return out;
  }

  /**
   * Creates {@code acls} (creating an existing ACL changes nothing), as a principal allowed to alter
   * them (the broker's super user).
   *
   * @param security the client settings of that principal ({@link KafkaClientProperties})
   */
  public static void create(String bootstrapServers, Map<String, String> security, List<AclBinding> acls) {
    Properties p = new Properties();
    p.putAll(KafkaClientProperties.check("", security));
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, Objects.requireNonNull(bootstrapServers, "bootstrapServers"));
    try (Admin admin = Admin.create(p)) {
      admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot create the lease ACLs on " + bootstrapServers + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted creating the lease ACLs", e);
    }
  }

  private static void topic(List<AclBinding> out, String principal, String topic, AclOperation... ops) {
    allow(out, principal, new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL), ops);
  }

  private static void allow(List<AclBinding> out, String principal, ResourcePattern resource, AclOperation... ops) {
    if (!principal.startsWith("User:") || principal.length() == "User:".length()) {
      throw new IllegalArgumentException("a Kafka principal is 'User:<name>'; got '" + principal + "'");
    }
    for (AclOperation op : ops) {
      out.add(new AclBinding(resource, new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW)));
    }
  }
}
