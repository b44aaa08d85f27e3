package io.spillway.images;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Strict reading of Kubernetes manifests into typed models: Kubernetes' own kinds into fabric8's models,
 * Strimzi's into Strimzi's API classes, the Prometheus operator's into fabric8's monitoring models,
 * cert-manager's into {@link CertManager}. A field the model does not know fails: Jackson refuses it where
 * the model has no catch-all, and where it has one (fabric8's and Strimzi's {@code additionalProperties})
 * the walk below finds it anywhere in the object.
 */
final class Manifests {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).resolve("..").normalize();
  static final Path DEPLOY = ROOT.resolve("deploy");

  private static final ObjectMapper STRICT = new ObjectMapper(new YAMLFactory())
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

  static final Map<String, Class<?>> TYPES = Map.ofEntries(
      Map.entry("v1/Namespace", Namespace.class),
      Map.entry("v1/ServiceAccount", ServiceAccount.class),
      Map.entry("v1/Service", Service.class),
      Map.entry("v1/ConfigMap", ConfigMap.class),
      Map.entry("v1/Secret", Secret.class),
      Map.entry("apps/v1/Deployment", Deployment.class),
      Map.entry("apps/v1/DaemonSet", DaemonSet.class),
      Map.entry("apps/v1/StatefulSet", StatefulSet.class),
      Map.entry("policy/v1/PodDisruptionBudget", PodDisruptionBudget.class),
      Map.entry("networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class),
      Map.entry("admissionregistration.k8s.io/v1/MutatingWebhookConfiguration", MutatingWebhookConfiguration.class),
      Map.entry("rbac.authorization.k8s.io/v1/Role", Role.class),
      Map.entry("rbac.authorization.k8s.io/v1/ClusterRole", ClusterRole.class),
      Map.entry("rbac.authorization.k8s.io/v1/RoleBinding", RoleBinding.class),
      Map.entry("rbac.authorization.k8s.io/v1/ClusterRoleBinding", ClusterRoleBinding.class),
      Map.entry("monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class),
      Map.entry("monitoring.coreos.com/v1/PodMonitor", PodMonitor.class),
      Map.entry("cert-manager.io/v1/Certificate", CertManager.Certificate.class),
      Map.entry("cert-manager.io/v1/Issuer", CertManager.Issuer.class),
      Map.entry("kafka.strimzi.io/v1beta2/Kafka", Kafka.class),
      Map.entry("kafka.strimzi.io/v1beta2/KafkaNodePool", KafkaNodePool.class),
      Map.entry("kafka.strimzi.io/v1beta2/KafkaTopic", KafkaTopic.class),
      Map.entry("kafka.strimzi.io/v1beta2/KafkaUser", KafkaUser.class));

  private Manifests() {}

  /** One manifest read into its model. */
  record Typed(ObjectNode tree, Object model) {
    String kind() {
      return tree.path("kind").asText();
    }

    String name() {
      return tree.at("/metadata/name").asText();
    }

    String namespace() {
      return tree.at("/metadata/namespace").asText();
    }

    <T> T as(Class<T> type) {
      return type.cast(model);
    }
  }

  /** Reads {@code doc} into the model of its apiVersion and kind; {@code where} names it in errors. */
  static Typed typed(ObjectNode doc, String where) {
    String key = doc.path("apiVersion").asText() + "/" + doc.path("kind").asText();
    Class<?> type = TYPES.get(key);
    if (type == null) {
      throw new AssertionError(where + ": no model for " + key + " (known: " + TYPES.keySet() + ")");
    }
    Object model;
    try {
      model = STRICT.treeToValue(doc, type);
    } catch (Exception e) {
      throw new AssertionError(where + ": " + key + " " + doc.at("/metadata/name").asText() + " does not read as "
          + type.getSimpleName() + ": " + e.getMessage(), e);
    }
    List<String> unknown = new ArrayList<>();
    unknownFields(model, key + " " + doc.at("/metadata/name").asText(), unknown, new IdentityHashMap<>());
    if (!unknown.isEmpty()) {
      throw new AssertionError(where + ": fields the model does not know: " + unknown);
    }
    return new Typed(doc, model);
  }

  private static void unknownFields(Object o, String path, List<String> problems, IdentityHashMap<Object, Boolean> seen) {
    if (o == null || o instanceof CharSequence || o instanceof Number || o instanceof Boolean || o instanceof Enum<?>) {
      return;
    }
    if (o instanceof Map<?, ?> m) {
      m.forEach((k, v) -> unknownFields(v, path + "." + k, problems, seen));
      return;
    }
    if (o instanceof Collection<?> c) {
      int i = 0;
      for (Object e : c) {
        unknownFields(e, path + "[" + i++ + "]", problems, seen);
      }
      return;
    }
    String cls = o.getClass().getName();
    if (!(cls.startsWith("io.fabric8.") || cls.startsWith("io.strimzi.") || o.getClass().isRecord())
        || seen.put(o, Boolean.TRUE) != null) {
      return;
    }
    for (Method m : o.getClass().getMethods()) {
      if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || m.getDeclaringClass() == Object.class) {
        continue;
      }
      String n = m.getName();
      boolean accessor = o.getClass().isRecord() ? isRecordComponent(o.getClass(), n)
          : (n.startsWith("get") && n.length() > 3) || (n.startsWith("is") && n.length() > 2);
      if (!accessor) {
        continue;
      }
      Object v;
      try {
        v = m.invoke(o);
      } catch (IllegalAccessException | InvocationTargetException e) {
        continue; // a computed getter that needs more than the fields; the fields themselves are walked
      }
      if (n.equals("getAdditionalProperties")) {
        if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
          problems.add(path + ": " + extra.keySet());
        }
      } else {
        unknownFields(v, path + "." + n.replaceFirst("^(get|is)", ""), problems, seen);
      }
    }
  }

  private static boolean isRecordComponent(Class<?> type, String name) {
    for (var c : type.getRecordComponents()) {
      if (c.getName().equals(name)) {
        return true;
      }
    }
    return false;
  }

  static final Set<String> BUILDS = Set.of("edge", "center", "examples/one-site");
}
