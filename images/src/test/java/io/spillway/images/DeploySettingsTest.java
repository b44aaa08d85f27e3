package io.spillway.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.spillway.lease.LeaseAcls;
import io.spillway.lease.LeaseTopics;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import io.spillway.topology.Topology;
import io.spillway.topology.TopologyLoader;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import io.strimzi.api.kafka.model.user.KafkaUserAuthorizationSimple;
import io.strimzi.api.kafka.model.user.acl.AclRule;
import io.strimzi.api.kafka.model.user.acl.AclRuleTopicResource;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

/** What the manifests say agrees with the code: topics, ACLs, pools, the topology, the metrics. */
class DeploySettingsTest {

  @Test
  void theKafkaTopicsAreTheLeaseTopicsWithTheirConfigs() {
    Map<String, Map<String, String>> declared = new TreeMap<>();
    int replicas = 0;
    for (Manifests.Typed t : ManifestTest.built("center")) {
      if (t.model() instanceof KafkaTopic topic) {
        assertEquals(1, topic.getSpec().getPartitions(), topic.getSpec().getTopicName() + ": one partition");
        replicas = topic.getSpec().getReplicas();
        Map<String, String> config = new TreeMap<>();
        topic.getSpec().getConfig().forEach((k, v) -> config.put(k, String.valueOf(v)));
        declared.put(topic.getSpec().getTopicName(), config);
      }
    }
    Map<String, Map<String, String>> code = new TreeMap<>();
    for (NewTopic n : LeaseTopics.definitions((short) replicas)) {
      code.put(n.name(), new TreeMap<>(n.configs()));
    }
    assertEquals(code, declared);
  }

  @Test
  void theKafkaUsersHaveTheLeaseAclsOfTheCodeAndEachEdgeItsOwnPrincipal() {
    Map<String, Set<String>> acls = new TreeMap<>();
    for (Manifests.Typed t : ManifestTest.built("center")) {
      if (t.model() instanceof KafkaUser user) {
        assertEquals("scram-sha-512", user.getSpec().getAuthentication().getType(), t.name());
        Set<String> rules = new TreeSet<>();
        for (AclRule rule : ((KafkaUserAuthorizationSimple) user.getSpec().getAuthorization()).getAcls()) {
          for (var op : rule.getOperations()) {
            rules.add(rule.getResource().getType().toLowerCase(java.util.Locale.ROOT) + " " + name(rule) + " "
                + op.toValue().toLowerCase(java.util.Locale.ROOT).replace("_", ""));
          }
        }
        acls.put(t.name(), rules);
      }
    }
    assertEquals(kafka(LeaseAcls.center("User:center")), acls.remove("center"));
    assertFalse(acls.isEmpty(), "no edge principal");
    for (var e : acls.entrySet()) {
      assertTrue(e.getKey().startsWith("edge-"), "KafkaUser " + e.getKey() + " is neither center nor edge-<name>");
      assertEquals(kafka(LeaseAcls.edge("User:" + e.getKey())), e.getValue(), e.getKey());
    }
    assertTrue(acls.containsKey("edge-" + edgeName()), "no KafkaUser for the edge of deploy/edge");
  }

  /** The code's bindings, as the same "type name operation" strings (literal patterns, any host). */
  private static Set<String> kafka(List<AclBinding> bindings) {
    Set<String> out = new TreeSet<>();
    for (AclBinding b : bindings) {
      assertEquals(PatternType.LITERAL, b.pattern().patternType());
      assertEquals("*", b.entry().host());
      assertEquals(AclPermissionType.ALLOW, b.entry().permissionType());
      String type = switch (b.pattern().resourceType()) {
        case TOPIC -> "topic";
        case GROUP -> "group";
        case TRANSACTIONAL_ID -> "transactionalid";
        case CLUSTER -> "cluster";
        default -> throw new AssertionError(b);
      };
      out.add(type + " " + b.pattern().name() + " " + b.entry().operation().name().toLowerCase(java.util.Locale.ROOT).replace("_", ""));
    }
    return out;
  }

  private static String edgeName() {
    try {
      ConfigMap cm = ManifestTest.built("edge").stream().filter(t -> t.model() instanceof ConfigMap && t.name().equals("edge-gateway-config"))
          .map(t -> t.as(ConfigMap.class)).findFirst().orElseThrow();
      Properties props = new Properties();
      props.load(new StringReader(cm.getData().get("application.properties")));
      return props.getProperty("spillway.edge.name");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String name(AclRule rule) {
    return switch (rule.getResource().getType()) {
      case "topic" -> ((AclRuleTopicResource) rule.getResource()).getName();
      case "group" -> ((io.strimzi.api.kafka.model.user.acl.AclRuleGroupResource) rule.getResource()).getName();
      case "transactionalId" -> ((io.strimzi.api.kafka.model.user.acl.AclRuleTransactionalIdResource) rule.getResource()).getName();
      default -> throw new AssertionError("ACL on " + rule.getResource().getType());
    };
  }

  @Test
  void theEdgeSettingsTheTopologyAndTheNodesAgree() throws Exception {
    List<Manifests.Typed> edge = ManifestTest.built("edge");
    ConfigMap cm = edge.stream().filter(t -> t.model() instanceof ConfigMap c && t.name().equals("edge-gateway-config"))
        .map(t -> t.as(ConfigMap.class)).findFirst().orElseThrow();
    Properties props = new Properties();
    props.load(new StringReader(cm.getData().get("application.properties")));
    Path file = Files.createTempFile("topology", ".yaml");
    try {
      Files.writeString(file, cm.getData().get("topology.yaml"));
      Topology topology = TopologyLoader.load(file);
      var site = topology.edges().stream().filter(e -> e.name().equals(props.getProperty("spillway.edge.name")))
          .findFirst().orElseThrow(() -> new AssertionError("edge " + props.getProperty("spillway.edge.name") + " is not in topology.yaml"));
      assertEquals("edge/" + site.name(), props.getProperty("spillway.edge.pool"));
      assertEquals(String.valueOf(site.gateway().grpcPort()), props.getProperty("spillway.edge.grpc.port"));
      assertEquals(String.valueOf(site.gateway().httpPort()), props.getProperty("quarkus.http.port"));
      List<String> centers = topology.center().gateways().stream().map(g -> g.host() + ":" + g.grpcPort()).toList();
      assertEquals(String.join(",", centers), props.getProperty("spillway.edge.spill.center"));
      assertEquals(topology.kafka().bootstrap(), props.getProperty("spillway.edge.spill.kafka-bootstrap"));
      assertEquals("0.0.0.0", props.getProperty("quarkus.http.host"), "probes and Prometheus reach the pod's address");
      assertEquals("0.0.0.0", props.getProperty("spillway.edge.grpc.host"));
      assertEquals(List.of("--pool=" + props.getProperty("spillway.edge.pool")), nodeArgs(edge, "--pool="));
      assertTrue(nodeArgs(edge, "--port=").contains("--port=" + site.gpuServers().get(0).nodePort()));
    } finally {
      Files.deleteIfExists(file);
    }
    List<Manifests.Typed> center = ManifestTest.built("center");
    assertEquals(List.of("--pool=center"), nodeArgs(center, "--pool="));
    // Every replica of the StatefulSet, by its stable name.
    int replicas = center.stream().filter(t -> t.kind().equals("StatefulSet")).findFirst().orElseThrow()
        .tree().at("/spec/replicas").asInt();
    List<String> gateways = nodeArgs(center, "--gateway=");
    assertEquals(replicas, gateways.size());
    for (int i = 0; i < replicas; i++) {
      assertEquals("--gateway=center-gateway-" + i + ".center-gateway-peers:7071", gateways.get(i));
    }
  }

  private static List<String> nodeArgs(List<Manifests.Typed> all, String prefix) {
    DaemonSet ds = all.stream().filter(t -> t.model() instanceof DaemonSet && t.name().equals("gpu-node"))
        .map(t -> t.as(DaemonSet.class)).findFirst().orElseThrow();
    return ds.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs().stream().filter(a -> a.startsWith(prefix)).toList();
  }

  /**
   * Every flag the manifests pass is one the component declares: the node's and the agent's picocli
   * options, the webhook's flag table. Read from their sources, so a renamed flag fails here, not at a
   * pod's start.
   */
  @Test
  void everyArgumentIsAFlagItsComponentDeclares() throws Exception {
    Pattern picocli = Pattern.compile("names = \\{?\"(--[a-z-]+)\"");
    Map<String, Set<String>> declared = Map.of(
        "gpu-node", flags(picocli, "gpu-node/src/main/java/io/spillway/node/NodeMain.java"),
        "agent", flags(picocli, "launcher/src/main/java/io/spillway/launcher/AgentCommand.java",
            "launcher/src/main/java/io/spillway/launcher/AgentKubeOptions.java"),
        "webhook", webhookFlags());
    int checked = 0;
    for (String dir : List.of("edge", "center", "examples/one-site")) {
      for (var e : ManifestTest.podSpecs(ManifestTest.built(dir)).entrySet()) {
        for (var c : e.getValue().getContainers()) {
          for (String arg : c.getArgs()) {
            String flag = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
            Set<String> known = declared.get(c.getName());
            assertTrue(known != null && known.contains(flag), dir + " " + e.getKey() + ": " + c.getName()
                + " does not declare " + flag + " (declares " + known + ")");
            checked++;
          }
        }
      }
    }
    assertTrue(checked >= 30, "arguments checked: " + checked);
  }

  private static Set<String> flags(Pattern p, String... sources) throws java.io.IOException {
    Set<String> out = new TreeSet<>();
    for (String source : sources) {
      Matcher m = p.matcher(Files.readString(Manifests.ROOT.resolve(source)));
      while (m.find()) {
        out.add(m.group(1));
      }
    }
    assertFalse(out.isEmpty(), "no flags in " + List.of(sources));
    return out;
  }

  private static Set<String> webhookFlags() throws java.io.IOException {
    String src = Files.readString(Manifests.ROOT.resolve("webhook/src/main/java/io/spillway/webhook/WebhookMain.java"));
    Matcher m = Pattern.compile("FLAGS = Set\\.of\\(([^)]*)\\)").matcher(src);
    assertTrue(m.find(), "WebhookMain.FLAGS");
    Set<String> out = new TreeSet<>();
    Matcher q = Pattern.compile("\"([a-z-]+)\"").matcher(m.group(1));
    while (q.find()) {
      out.add("--" + q.group(1));
    }
    return out;
  }

  @Test
  void theDashboardQueriesOnlyMetricsTheGatewaysExport() throws Exception {
    String docs = Files.readString(Manifests.ROOT.resolve("docs/metrics.md"));
    Set<String> exported = new HashSet<>();
    Matcher row = Pattern.compile("(?m)^\\| `(spillway_[a-z_]+)`").matcher(docs);
    while (row.find()) {
      exported.add(row.group(1));
    }
    assertTrue(exported.size() >= 15, "metrics in docs/metrics.md: " + exported);
    JsonNode dash = new ObjectMapper().readTree(Manifests.DEPLOY.resolve("monitoring/spillway-dashboard.json").toFile());
    Set<String> used = new TreeSet<>();
    Map<String, String> where = new HashMap<>();
    for (JsonNode panel : dash.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        Matcher m = Pattern.compile("spillway_[a-z_]+").matcher(target.path("expr").asText());
        while (m.find()) {
          used.add(m.group());
          where.put(m.group(), panel.path("title").asText());
        }
      }
    }
    for (JsonNode v : dash.at("/templating/list")) {
      Matcher m = Pattern.compile("spillway_[a-z_]+").matcher(v.path("query").asText());
      while (m.find()) {
        used.add(m.group());
      }
    }
    assertTrue(used.size() >= 12, "metrics on the dashboard: " + used);
    for (String metric : used) {
      String base = metric.replaceFirst("_(bucket|count|sum)$", "");
      assertTrue(exported.contains(metric) || exported.contains(base),
          "panel '" + where.get(metric) + "' queries " + metric + ", which docs/metrics.md does not list");
    }
  }
}
