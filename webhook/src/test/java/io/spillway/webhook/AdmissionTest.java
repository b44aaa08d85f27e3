package io.spillway.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The webhook fed AdmissionReview v1 requests for real pod specs; the JSON Patch it returns is applied (RFC
 * 6902, strictly) and the resulting pod checked.
 */
class AdmissionTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final long GIB = 1L << 30;

  final Admission admission = new Admission(new PodMutator(WebhookConfig.rewriting(Map.of("V100", 16 * GIB, "T4", 16 * GIB, "A100", 80 * GIB))));

  static ObjectNode yaml(String name) throws IOException {
    try (InputStream in = AdmissionTest.class.getResourceAsStream("/pods/" + name)) {
      return (ObjectNode) YAML.readTree(in);
    }
  }

  /** The pod a ReplicaSet makes from a Deployment's template, as the API server sees it at CREATE. */
  static ObjectNode podOf(JsonNode deployment) {
    ObjectNode pod = JSON.createObjectNode();
    pod.put("apiVersion", "v1").put("kind", "Pod");
    ObjectNode meta = deployment.path("spec").path("template").path("metadata").deepCopy();
    meta.put("generateName", deployment.path("metadata").path("name").asText() + "-7d9f8c6b5-");
    meta.put("namespace", deployment.path("metadata").path("namespace").asText());
    meta.putArray("ownerReferences").addObject().put("apiVersion", "apps/v1").put("kind", "ReplicaSet")
        .put("name", deployment.path("metadata").path("name").asText() + "-7d9f8c6b5").put("controller", true);
    pod.set("metadata", meta);
    pod.set("spec", deployment.path("spec").path("template").path("spec").deepCopy());
    return pod;
  }

  static byte[] review(JsonNode pod, String namespace) {
    ObjectNode r = JSON.createObjectNode();
    r.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode q = r.putObject("request");
    q.put("uid", "705ab4f5-6393-11e8-b7cc-42010a800002");
    q.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
    q.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
    q.put("namespace", namespace).put("operation", "CREATE");
    q.putObject("userInfo").put("username", "system:serviceaccount:kube-system:replicaset-controller");
    q.set("object", pod);
    q.putNull("oldObject");
    q.put("dryRun", false);
    return r.toString().getBytes(StandardCharsets.UTF_8);
  }

  record Outcome(JsonNode response, JsonNode patch, JsonNode pod) {
  }

  Outcome admit(JsonNode pod, String namespace) throws Exception {
    JsonNode out = JSON.readTree(admission.review(review(pod, namespace)));
    assertEquals("admission.k8s.io/v1", out.path("apiVersion").asText());
    assertEquals("AdmissionReview", out.path("kind").asText());
    JsonNode response = out.path("response");
    assertEquals("705ab4f5-6393-11e8-b7cc-42010a800002", response.path("uid").asText());
    if (!response.has("patch")) {
      return new Outcome(response, null, pod);
    }
    assertEquals("JSONPatch", response.path("patchType").asText());
    JsonNode patch = JSON.readTree(Base64.getDecoder().decode(response.path("patch").asText()));
    return new Outcome(response, patch, JsonPatch.apply(pod, patch));
  }

  static JsonNode container(JsonNode pod, String field, String name) {
    for (JsonNode c : pod.path("spec").path(field)) {
      if (c.path("name").asText().equals(name)) {
        return c;
      }
    }
    throw new AssertionError("no " + field + " " + name + " in " + pod);
  }

  static String env(JsonNode container, String name) {
    for (JsonNode e : container.path("env")) {
      if (e.path("name").asText().equals(name)) {
        return e.path("value").asText();
      }
    }
    return null;
  }

  static String limit(JsonNode container) {
    JsonNode v = container.path("resources").path("limits").get("spillway.io/gpu-memory");
    return v == null ? null : v.asText();
  }

  @Test
  void aDeploymentsTemplateAsksHalfAV100() throws Exception {
    ObjectNode pod = podOf(yaml("deployment.yaml"));
    Outcome o = admit(pod, "team-a");
    assertTrue(o.response().path("allowed").asBoolean(), o.response().toString());
    JsonNode server = container(o.pod(), "containers", "server");
    assertEquals("8", limit(server), "half of a 16 GiB V100 is 8 units of 1 GiB");
    assertEquals("gpus=1,percent=50,compute=25,model=V100", env(server, "SPILLWAY_SLICE"));
    assertEquals("2", server.path("resources").path("limits").path("cpu").asText(), "other limits stay");
    assertEquals("2Gi", server.path("resources").path("requests").path("memory").asText());
    assertEquals(pod.path("metadata"), o.pod().path("metadata"), "the webhook changes no metadata");
    assertEquals(pod.path("spec").path("containers").get(0).path("command"), server.path("command"));
    for (JsonNode e : server.path("env")) {
      String n = e.path("name").asText().toLowerCase();
      assertFalse(n.contains("token") || n.contains("secret") || n.contains("password"), "no credential: " + e);
    }
    Outcome again = admit(o.pod(), "team-a");
    assertNull(again.patch(), "a pod it already rewrote needs no patch (reinvocation): " + again.response());
  }

  @Test
  void severalContainersEachGetTheirOwnSlice() throws Exception {
    Outcome o = admit(yaml("multi.yaml"), "team-b");
    assertTrue(o.response().path("allowed").asBoolean(), o.response().toString());
    JsonNode trainer = container(o.pod(), "containers", "trainer");
    assertEquals("16", limit(trainer), "2 GPUs of 8 GiB");
    assertEquals("gpus=2,memory=" + 8 * GIB, env(trainer, "SPILLWAY_SLICE"));
    assertEquals("3", env(trainer, "EPOCHS"), "its own env stays");
    JsonNode server = container(o.pod(), "containers", "server");
    assertEquals("4", limit(server));
    assertEquals("gpus=1,memory=" + 4 * GIB + ",model=T4+V100", env(server, "SPILLWAY_SLICE"));
    assertEquals("1", server.path("resources").path("limits").path("cpu").asText());
    JsonNode shipper = container(o.pod(), "containers", "log-shipper");
    assertNull(limit(shipper), "a container no annotation names is untouched");
    assertEquals(yaml("multi.yaml").path("spec").path("containers").get(2), shipper);
  }

  @Test
  void initContainersAreRewrittenByName() throws Exception {
    Outcome o = admit(yaml("init.yaml"), "team-c");
    assertTrue(o.response().path("allowed").asBoolean(), o.response().toString());
    JsonNode warmup = container(o.pod(), "initContainers", "warmup");
    assertEquals("2", limit(warmup));
    assertEquals("gpus=1,memory=" + 2 * GIB + ",compute=10", env(warmup, "SPILLWAY_SLICE"));
    assertNull(limit(container(o.pod(), "initContainers", "fetch-weights")));
    JsonNode main = container(o.pod(), "containers", "main");
    assertEquals("6", limit(main), "pod-level keys go to the first app container");
    assertEquals("gpus=1,memory=" + 6 * GIB, env(main, "SPILLWAY_SLICE"), "the webhook's slice replaces the pod's own");
    assertEquals("/usr/local/spillway/lib:/opt/app/lib", env(main, "LD_LIBRARY_PATH"),
        "the shim comes first in the container's own library path");
  }

  @Test
  void aPodThatAsksNothingIsAllowedUntouched() throws Exception {
    Outcome o = admit(yaml("plain.yaml"), "team-a");
    assertTrue(o.response().path("allowed").asBoolean());
    assertNull(o.patch());
    assertFalse(o.response().has("patchType"));
  }

  @Test
  void systemNamespacesAreSkipped() throws Exception {
    ObjectNode pod = yaml("multi.yaml");
    ((ObjectNode) pod.path("metadata")).put("namespace", "kube-system");
    Outcome o = admit(pod, "kube-system");
    assertTrue(o.response().path("allowed").asBoolean());
    assertNull(o.patch());
  }

  String refusal(ObjectNode pod, String namespace) throws Exception {
    Outcome o = admit(pod, namespace);
    assertFalse(o.response().path("allowed").asBoolean(), "refused: " + o.response());
    assertNull(o.patch());
    assertEquals(400, o.response().path("status").path("code").asInt());
    return o.response().path("status").path("message").asText();
  }

  static ObjectNode annotate(ObjectNode pod, String key, String value) {
    ((ObjectNode) pod.path("metadata").path("annotations")).put(key, value);
    return pod;
  }

  @Test
  void invalidRequestsAreRefusedNamingTheField() throws Exception {
    assertEquals("metadata.annotations[spillway.io/gpu-memory]: \"lots\" is not bytes (8GiB, 512MiB, 1000000) or a percent (50%)",
        refusal(annotate(yaml("multi.yaml"), "spillway.io/gpu-memory", "lots"), "team-b"));
    assertTrue(refusal(annotate(yaml("multi.yaml"), "spillway.io/gpu-count.trainer", "0"), "team-b")
        .startsWith("metadata.annotations[spillway.io/gpu-count.trainer]: \"0\" is invalid"));
    assertTrue(refusal(annotate(yaml("multi.yaml"), "spillway.io/gpu-memory.nosuch", "1GiB"), "team-b")
        .startsWith("metadata.annotations[spillway.io/gpu-memory.nosuch]: the pod has no container nosuch"));
    assertTrue(refusal(annotate(podOf(yaml("deployment.yaml")), "spillway.io/gpu-model", "P40"), "team-a")
        .startsWith("metadata.annotations[spillway.io/gpu-model]: model P40 has no known memory"));
    assertTrue(refusal(annotate(podOf(yaml("deployment.yaml")), "spillway.io/gpu-compute", "150"), "team-a")
        .startsWith("metadata.annotations[spillway.io/gpu-compute]: \"150\" is invalid"));
    assertTrue(refusal(annotate(yaml("plain.yaml"), "spillway.io/gpu-count", "2"), "team-a")
        .startsWith("metadata.annotations[spillway.io/gpu-memory]: missing for container nginx"));
    assertTrue(refusal(annotate(yaml("plain.yaml"), "spillway.io/gpu-memroy", "2GiB"), "team-a")
        .startsWith("metadata.annotations[spillway.io/gpu-memroy]: unknown key"));
    ObjectNode conflicting = podOf(yaml("deployment.yaml"));
    ((ObjectNode) conflicting.path("spec").path("containers").get(0).path("resources").path("limits"))
        .put("spillway.io/gpu-memory", "2");
    assertEquals("spec.containers[0].resources.limits[spillway.io/gpu-memory]: 2 conflicts with the 8 units the "
        + "spillway.io/gpu-* annotations ask for", refusal(conflicting, "team-a"));
    Admission noCards = new Admission(new PodMutator(WebhookConfig.rewriting(Map.of())));
    JsonNode out = JSON.readTree(noCards.review(review(podOf(yaml("deployment.yaml")), "team-a")));
    assertFalse(out.path("response").path("allowed").asBoolean());
    assertTrue(out.path("response").path("status").path("message").asText()
        .startsWith("metadata.annotations[spillway.io/gpu-memory]: a percent needs the card's memory"));
  }

  @Test
  void aReviewThatIsNotOneIsABadRequest() {
    Admission.BadReview e = assertThrows(Admission.BadReview.class,
        () -> admission.review("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}"
            .getBytes(StandardCharsets.UTF_8)));
    assertEquals("request.uid: missing", e.getMessage());
    assertThrows(Admission.BadReview.class, () -> admission.review("not json".getBytes(StandardCharsets.UTF_8)));
    assertThrows(Admission.BadReview.class, () -> admission.review(
        "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}".getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void flagsAndEnvironmentMakeTheConfiguration() {
    WebhookConfig c = WebhookMain.parse(new String[] {"--port", "9443", "--card-memory", "V100=32GiB"},
        Map.of("SPILLWAY_WEBHOOK_CARD_MEMORY", "P40=24GiB", "SPILLWAY_WEBHOOK_SKIP_NAMESPACE", "spillway-system,ops"));
    assertEquals(9443, c.port());
    assertEquals(Map.of("V100", 32 * GIB), c.cardMemory(), "the flag wins over the environment");
    assertTrue(c.skipNamespaces().containsAll(java.util.Set.of("kube-system", "spillway-system", "ops")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> WebhookMain.parse(new String[] {"--card-memory", "V100=big"}, Map.of()));
    assertEquals("card-memory V100=big is invalid: expected a size such as 16GiB", e.getMessage());
  }
}
