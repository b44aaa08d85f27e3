package io.spillway.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every manifest under deploy/, read strictly, and what kustomize builds from each base and overlay. */
class ManifestTest {
  private static final String VERSION = System.getProperty("spillway.images.version", "0.1.0-SNAPSHOT");

  /**
   * What each ServiceAccount may do through the API server, exactly. None of the components calls it:
   * the agent reads the kubelet's PodResources socket, the webhook only answers the API server.
   */
  private static final Map<String, List<PolicyRule>> RBAC = Map.of(
      "edge-gateway", List.of(), "gpu-node", List.of(), "agent", List.of(), "webhook", List.of(),
      "center-gateway", List.of());

  /** Containers that run as uid 0, and why: the kubelet's device-plugin and pod-resources dirs are root's, 0750. */
  private static final Set<String> ROOT_CONTAINERS = Set.of("agent");

  private static final Set<String> HEALTH_PATHS = Set.of("/q/health/live", "/q/health/ready", "/healthz");

  private static final Map<String, List<Manifests.Typed>> BUILT = new java.util.concurrent.ConcurrentHashMap<>();

  /** The typed output of one build, built once per test run (the tests only read it). */
  static List<Manifests.Typed> built(String dir) {
    return BUILT.computeIfAbsent(dir, ManifestTest::build);
  }

  private static List<Manifests.Typed> build(String dir) {
    List<Manifests.Typed> out = new ArrayList<>();
    for (ObjectNode doc : Kustomize.build(Manifests.DEPLOY.resolve(dir))) {
      out.add(Manifests.typed(doc, "kustomize " + dir));
    }
    return out;
  }

  @Test
  void everyManifestFileReadsStrictlyIntoItsModel() throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(Manifests.DEPLOY)) {
      files = walk.filter(p -> p.toString().endsWith(".yaml") && !p.getFileName().toString().equals("kustomization.yaml")
          && !p.getParent().getFileName().toString().equals("config")).sorted().toList();
    }
    assertTrue(files.size() >= 15, "manifests found: " + files);
    int docs = 0;
    for (Path f : files) {
      for (ObjectNode doc : Kustomize.readDocuments(f)) {
        Manifests.typed(doc, Manifests.ROOT.relativize(f).toString());
        docs++;
      }
    }
    assertTrue(docs >= 40, "documents read: " + docs);
  }

  @Test
  void aFieldTheModelDoesNotKnowFails() {
    ObjectNode deployment = (ObjectNode) Kustomize.readDocuments(Manifests.DEPLOY.resolve("edge/edge-gateway.yaml")).get(1);
    ((ObjectNode) deployment.get("spec")).put("replica", 1);
    AssertionError e = assertThrows(AssertionError.class, () -> Manifests.typed(deployment, "test"));
    assertTrue(e.getMessage().contains("replica"), e.getMessage());

    ObjectNode deep = (ObjectNode) Kustomize.readDocuments(Manifests.DEPLOY.resolve("edge/edge-gateway.yaml")).get(1);
    ((ObjectNode) deep.at("/spec/template/spec/containers/0/readinessProbe/httpGet")).put("paht", "/x");
    e = assertThrows(AssertionError.class, () -> Manifests.typed(deep, "test"));
    assertTrue(e.getMessage().contains("paht"), e.getMessage());

    ObjectNode user = Kustomize.readDocuments(Manifests.DEPLOY.resolve("center/kafka.yaml")).stream()
        .filter(d -> d.path("kind").asText().equals("KafkaUser")).findFirst().orElseThrow();
    ((ObjectNode) user.at("/spec/authorization/acls/0")).put("operation", "All");
    ((ObjectNode) user.at("/spec/authorization/acls/0")).put("hosts", "*");
    e = assertThrows(AssertionError.class, () -> Manifests.typed(user, "test"));
    assertTrue(e.getMessage().contains("hosts"), e.getMessage());

    ObjectNode cert = Kustomize.readDocuments(Manifests.DEPLOY.resolve("edge/certificates.yaml")).get(3);
    ((ObjectNode) cert.get("spec")).put("dnsName", "x");
    e = assertThrows(AssertionError.class, () -> Manifests.typed(cert, "test"));
    assertTrue(e.getMessage().contains("dnsName"), e.getMessage());
  }

  @Test
  void theKustomizeSubsetRefusesWhatItDoesNotImplementAndPatchesThatMissed(@org.junit.jupiter.api.io.TempDir Path dir)
      throws IOException {
    Files.writeString(dir.resolve("kustomization.yaml"), "resources: []\nnamePrefix: x-\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Kustomize.build(dir));
    assertTrue(e.getMessage().contains("namePrefix"), e.getMessage());

    ObjectNode doc = (ObjectNode) Kustomize.YAML.readTree("spec: {args: [--driver=jcuda]}");
    e = assertThrows(IllegalArgumentException.class, () -> Kustomize.JsonPatch.apply(doc,
        Kustomize.YAML.readTree("{op: test, path: /spec/args/0, value: --driver=auto}")));
    assertTrue(e.getMessage().contains("--driver=jcuda"), e.getMessage());
    Kustomize.JsonPatch.apply(doc, Kustomize.YAML.readTree("{op: replace, path: /spec/args/0, value: --driver=host}"));
    assertEquals("--driver=host", doc.at("/spec/args/0").asText());
  }

  @ParameterizedTest
  @ValueSource(strings = {"edge", "center", "examples/one-site"})
  void kustomizeOutputHasNoDuplicateNames(String dir) {
    Map<String, Integer> seen = new TreeMap<>();
    for (Manifests.Typed t : built(dir)) {
      String group = t.tree().path("apiVersion").asText().contains("/") ? t.tree().path("apiVersion").asText().split("/")[0] : "";
      seen.merge(group + "/" + t.kind() + " " + t.namespace() + "/" + t.name(), 1, Integer::sum);
    }
    seen.values().removeIf(n -> n == 1);
    assertEquals(Map.of(), seen, "names used more than once per kind and namespace");
  }

  @ParameterizedTest
  @ValueSource(strings = {"edge", "center", "examples/one-site"})
  void everyImageIsOneTheBuildProduces(String dir) {
    Set<String> produced = new HashSet<>();
    ImageCatalog.ALL.forEach(i -> produced.add(i.reference(VERSION)));
    int containers = 0;
    for (PodSpec pod : podSpecs(built(dir)).values()) {
      for (Container c : allContainers(pod)) {
        assertTrue(produced.contains(c.getImage()), c.getName() + ": image " + c.getImage() + " is not one of " + produced);
        containers++;
      }
    }
    assertTrue(containers >= 2, dir + ": containers " + containers);
  }

  @ParameterizedTest
  @ValueSource(strings = {"edge", "center", "examples/one-site"})
  void serviceAccountsHaveExactlyTheRulesTheyNeedAndNoToken(String dir) {
    List<Manifests.Typed> all = built(dir);
    Map<String, List<PolicyRule>> rules = new HashMap<>();
    Map<String, List<PolicyRule>> roles = new HashMap<>();
    for (Manifests.Typed t : all) {
      if (t.model() instanceof ServiceAccount sa) {
        assertEquals(Boolean.FALSE, sa.getAutomountServiceAccountToken(), t.name() + " mounts a token");
        rules.put(t.namespace() + "/" + t.name(), new ArrayList<>());
      }
      if (t.model() instanceof io.fabric8.kubernetes.api.model.rbac.Role r) {
        roles.put("Role " + t.namespace() + "/" + t.name(), r.getRules());
      }
      if (t.model() instanceof io.fabric8.kubernetes.api.model.rbac.ClusterRole r) {
        roles.put("ClusterRole /" + t.name(), r.getRules());
      }
    }
    for (Manifests.Typed t : all) {
      List<Subject> subjects = null;
      String role = null;
      if (t.model() instanceof RoleBinding b) {
        subjects = b.getSubjects();
        role = b.getRoleRef().getKind() + " " + (b.getRoleRef().getKind().equals("Role") ? t.namespace() : "") + "/" + b.getRoleRef().getName();
      } else if (t.model() instanceof ClusterRoleBinding b) {
        subjects = b.getSubjects();
        role = "ClusterRole /" + b.getRoleRef().getName();
      }
      if (subjects != null) {
        List<PolicyRule> granted = roles.get(role);
        assertNotNull(granted, t.name() + " binds " + role + ", which is not in the output");
        for (Subject s : subjects) {
          assertEquals("ServiceAccount", s.getKind(), t.name() + " binds a " + s.getKind());
          rules.computeIfAbsent(s.getNamespace() + "/" + s.getName(), k -> new ArrayList<>()).addAll(granted);
        }
      }
    }
    assertFalse(rules.isEmpty());
    for (var e : rules.entrySet()) {
      String name = e.getKey().substring(e.getKey().indexOf('/') + 1);
      assertTrue(RBAC.containsKey(name), "ServiceAccount " + e.getKey() + " has no expected rules listed");
      assertEquals(RBAC.get(name), e.getValue(), "rules of ServiceAccount " + e.getKey());
    }
    for (var e : podSpecs(all).entrySet()) {
      PodSpec pod = e.getValue();
      String sa = e.getKey().substring(0, e.getKey().indexOf('/')) + "/" + pod.getServiceAccountName();
      assertTrue(rules.containsKey(sa), e.getKey() + " runs as " + sa + ", which is not in the output");
      assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken(), e.getKey() + " mounts a token");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"edge", "center", "examples/one-site"})
  void containersAreConfinedSizedAndProbed(String dir) {
    for (var e : podSpecs(built(dir)).entrySet()) {
      PodSpec pod = e.getValue();
      for (Container c : pod.getContainers()) {
        String where = e.getKey() + " container " + c.getName();
        var requests = c.getResources().getRequests();
        assertTrue(requests != null && requests.containsKey("cpu") && requests.containsKey("memory"), where + ": requests " + requests);
        assertTrue(c.getResources().getLimits().containsKey("memory"), where + ": no memory limit");
        var sc = c.getSecurityContext();
        assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), where);
        assertEquals(Boolean.TRUE, sc.getReadOnlyRootFilesystem(), where);
        assertEquals(List.of("ALL"), sc.getCapabilities().getDrop(), where);
        assertTrue(sc.getCapabilities().getAdd() == null || sc.getCapabilities().getAdd().isEmpty(), where);
        assertTrue(sc.getPrivileged() == null || !sc.getPrivileged(), where);
        if (ROOT_CONTAINERS.contains(c.getName())) {
          assertEquals(0L, sc.getRunAsUser(), where);
        } else {
          Long uid = sc.getRunAsUser() != null ? sc.getRunAsUser() : pod.getSecurityContext().getRunAsUser();
          assertEquals(65532L, uid, where + ": uid");
          assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot(), where + ": runAsNonRoot");
          assertFalse(Boolean.TRUE.equals(pod.getHostPID()), where + ": hostPID");
        }
        if (!c.getPorts().isEmpty()) {
          for (Probe p : new Probe[] {c.getReadinessProbe(), c.getLivenessProbe()}) {
            assertNotNull(p, where + ": a container with ports needs readiness and liveness probes");
            if (p.getHttpGet() != null) {
              assertTrue(HEALTH_PATHS.contains(p.getHttpGet().getPath()), where + ": probe path " + p.getHttpGet().getPath());
              assertPortNamed(c, p.getHttpGet().getPort().getStrVal(), where);
            } else {
              assertNotNull(p.getTcpSocket(), where + ": probe is neither HTTP nor TCP");
              assertPortNamed(c, p.getTcpSocket().getPort().getStrVal(), where);
            }
          }
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"edge", "center", "examples/one-site"})
  void servicesPoliciesBudgetsAndMonitorsSelectWhatExists(String dir) {
    List<Manifests.Typed> all = built(dir);
    Map<String, PodTemplateSpec> templates = templates(all);
    for (Manifests.Typed t : all) {
      if (t.model() instanceof Service s) {
        List<Container> selected = selected(templates, t.namespace(), s.getSpec().getSelector(), "Service " + t.name());
        s.getSpec().getPorts().forEach(p -> selected.forEach(c -> assertPortNamed(c, p.getTargetPort().getStrVal(), "Service " + t.name())));
      }
      if (t.model() instanceof NetworkPolicy np) {
        selected(templates, t.namespace(), np.getSpec().getPodSelector().getMatchLabels(), "NetworkPolicy " + t.name());
      }
      if (t.model() instanceof PodDisruptionBudget pdb) {
        selected(templates, t.namespace(), pdb.getSpec().getSelector().getMatchLabels(), "PodDisruptionBudget " + t.name());
      }
      if (t.model() instanceof ServiceMonitor sm) {
        List<Service> services = all.stream().filter(o -> o.model() instanceof Service && o.namespace().equals(t.namespace())
            && labels(o).entrySet().containsAll(sm.getSpec().getSelector().getMatchLabels().entrySet()))
            .map(o -> o.as(Service.class)).toList();
        assertEquals(1, services.size(), "ServiceMonitor " + t.name() + " selects " + services.size() + " Services");
        sm.getSpec().getEndpoints().forEach(ep -> assertTrue(services.get(0).getSpec().getPorts().stream()
            .anyMatch(p -> p.getName().equals(ep.getPort())), "ServiceMonitor " + t.name() + ": port " + ep.getPort()));
      }
      if (t.model() instanceof PodMonitor pm) {
        List<Container> selected = selected(templates, t.namespace(), pm.getSpec().getSelector().getMatchLabels(), "PodMonitor " + t.name());
        pm.getSpec().getPodMetricsEndpoints().forEach(ep -> selected.forEach(c -> assertPortNamed(c, ep.getPort(), "PodMonitor " + t.name())));
      }
    }
    // Every workload: isolated by a NetworkPolicy; a Deployment or StatefulSet: covered by a budget.
    for (Manifests.Typed t : all) {
      if (t.model() instanceof Deployment || t.model() instanceof StatefulSet || t.model() instanceof DaemonSet) {
        Map<String, String> podLabels = templates.get(t.namespace() + "/" + t.kind() + "/" + t.name()).getMetadata().getLabels();
        assertTrue(all.stream().anyMatch(o -> o.model() instanceof NetworkPolicy np && o.namespace().equals(t.namespace())
            && podLabels.entrySet().containsAll(np.getSpec().getPodSelector().getMatchLabels().entrySet())
            && np.getSpec().getPolicyTypes().contains("Ingress")), t.kind() + " " + t.name() + " has no ingress NetworkPolicy");
        if (!(t.model() instanceof DaemonSet)) {
          assertTrue(all.stream().anyMatch(o -> o.model() instanceof PodDisruptionBudget b && o.namespace().equals(t.namespace())
              && podLabels.entrySet().containsAll(b.getSpec().getSelector().getMatchLabels().entrySet())),
              t.kind() + " " + t.name() + " has no PodDisruptionBudget");
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"edge", "center", "examples/one-site"})
  void everyMountedConfigMapAndSecretHasASource(String dir) {
    List<Manifests.Typed> all = built(dir);
    Set<String> configMaps = new HashSet<>();
    Set<String> secrets = new HashSet<>();
    for (Manifests.Typed t : all) {
      switch (t.kind()) {
        case "ConfigMap" -> configMaps.add(t.namespace() + "/" + t.name());
        case "Secret" -> secrets.add(t.namespace() + "/" + t.name());
        case "Certificate" -> secrets.add(t.namespace() + "/" + t.as(CertManager.Certificate.class).spec().secretName());
        // Strimzi writes a Secret per KafkaUser (its SCRAM password) and the cluster CA's certificate.
        case "KafkaUser" -> secrets.add(t.namespace() + "/" + t.name());
        case "Kafka" -> secrets.add(t.namespace() + "/" + t.name() + "-cluster-ca-cert");
        default -> { }
      }
    }
    // The Secrets an operator makes with deploy/credentials.sh, in whichever namespace mounts them.
    Set<String> made = new HashSet<>();
    try {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("secret \"\\$\\{(?:edge|center)_kubectl\\[@]}\" -- ([a-z0-9-]+) ")
          .matcher(Files.readString(Manifests.DEPLOY.resolve("credentials.sh")));
      while (m.find()) {
        made.add(m.group(1));
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    assertTrue(made.containsAll(Set.of("agent-token", "edge-kafka-client", "center-kafka-client", "edge-lease-key")), "credentials.sh makes " + made);
    for (var e : podSpecs(all).entrySet()) {
      String ns = e.getKey().substring(0, e.getKey().indexOf('/'));
      for (Volume v : e.getValue().getVolumes()) {
        if (v.getConfigMap() != null) {
          assertTrue(configMaps.contains(ns + "/" + v.getConfigMap().getName()), e.getKey() + ": ConfigMap " + v.getConfigMap().getName());
        }
        if (v.getSecret() != null && !Boolean.TRUE.equals(v.getSecret().getOptional())) {
          assertTrue(secrets.contains(ns + "/" + v.getSecret().getSecretName()) || made.contains(v.getSecret().getSecretName()), e.getKey() + ": Secret " + v.getSecret().getSecretName()
              + " has no source among " + secrets);
        }
      }
    }
  }

  @Test
  void theWebhookReachesItsServiceTrustsItsCertificateAndSkipsPodsThatAskNothing() {
    List<Manifests.Typed> all = built("edge");
    Manifests.Typed config = all.stream().filter(t -> t.model() instanceof MutatingWebhookConfiguration).findFirst().orElseThrow();
    String inject = config.tree().at("/metadata/annotations").path("cert-manager.io/inject-ca-from").asText();
    assertTrue(all.stream().anyMatch(t -> t.kind().equals("Certificate") && (t.namespace() + "/" + t.name()).equals(inject)),
        "cert-manager.io/inject-ca-from " + inject + " names no Certificate");
    for (MutatingWebhook w : config.as(MutatingWebhookConfiguration.class).getWebhooks()) {
      var ref = w.getClientConfig().getService();
      Service s = all.stream().filter(t -> t.model() instanceof Service && t.name().equals(ref.getName())
          && t.namespace().equals(ref.getNamespace())).map(t -> t.as(Service.class)).findFirst()
          .orElseThrow(() -> new AssertionError("webhook service " + ref.getNamespace() + "/" + ref.getName()));
      assertTrue(s.getSpec().getPorts().stream().anyMatch(p -> p.getPort().equals(ref.getPort())), "port " + ref.getPort());
      assertEquals("/mutate", ref.getPath());
      assertEquals("Fail", w.getFailurePolicy());
      assertEquals(Map.of("spillway.io/gpu", "true"), w.getObjectSelector().getMatchLabels(),
          "only pods that opt in reach a webhook that fails closed");
      assertTrue(w.getNamespaceSelector().getMatchExpressions().stream().anyMatch(x -> x.getOperator().equals("NotIn")
          && x.getValues().containsAll(List.of("kube-system", "kube-public", "kube-node-lease"))));
      assertEquals("None", w.getSideEffects());
    }
  }

  private static void assertPortNamed(Container c, String name, String where) {
    assertTrue(c.getPorts().stream().map(ContainerPort::getName).anyMatch(name::equals),
        where + ": container " + c.getName() + " has no port named " + name);
  }

  private static Map<String, String> labels(Manifests.Typed t) {
    Map<String, String> l = new HashMap<>();
    t.tree().at("/metadata/labels").fields().forEachRemaining(e -> l.put(e.getKey(), e.getValue().asText()));
    return l;
  }

  private static List<Container> selected(Map<String, PodTemplateSpec> templates, String ns, Map<String, String> selector, String what) {
    assertTrue(selector != null && !selector.isEmpty(), what + " selects every pod");
    List<Container> out = new ArrayList<>();
    templates.forEach((k, t) -> {
      if (k.startsWith(ns + "/") && t.getMetadata().getLabels().entrySet().containsAll(selector.entrySet())) {
        out.addAll(t.getSpec().getContainers());
      }
    });
    assertFalse(out.isEmpty(), what + " selects no pod template in " + ns + ": " + selector);
    return out;
  }

  static Map<String, PodTemplateSpec> templates(List<Manifests.Typed> all) {
    Map<String, PodTemplateSpec> out = new TreeMap<>();
    for (Manifests.Typed t : all) {
      PodTemplateSpec tpl = null;
      if (t.model() instanceof Deployment d) {
        tpl = d.getSpec().getTemplate();
      } else if (t.model() instanceof DaemonSet d) {
        tpl = d.getSpec().getTemplate();
      } else if (t.model() instanceof StatefulSet s) {
        tpl = s.getSpec().getTemplate();
      }
      if (tpl != null) {
        out.put(t.namespace() + "/" + t.kind() + "/" + t.name(), tpl);
      }
    }
    return out;
  }

  static Map<String, PodSpec> podSpecs(List<Manifests.Typed> all) {
    Map<String, PodSpec> out = new TreeMap<>();
    templates(all).forEach((k, v) -> out.put(k, v.getSpec()));
    return out;
  }

  private static List<Container> allContainers(PodSpec pod) {
    List<Container> out = new ArrayList<>(pod.getContainers());
    out.addAll(pod.getInitContainers());
    return out;
  }
}
