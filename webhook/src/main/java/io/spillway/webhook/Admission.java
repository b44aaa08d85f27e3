package io.spillway.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.logging.Logger;

/**
 * One {@code admission.k8s.io/v1} AdmissionReview in, one out. A pod that asks nothing is allowed with no
 * patch; an invalid ask is refused (code 400) with a message naming the field; anything else is allowed with
 * a JSON Patch.
 */
public final class Admission {

  private static final Logger LOG = Logger.getLogger(Admission.class.getName());
  static final ObjectMapper JSON = new ObjectMapper();

  /** A review the webhook cannot read at all (answered with HTTP 400). */
  public static final class BadReview extends Exception {
    private static final long serialVersionUID = 1L;

    BadReview(String message) {
      super(message);
    }
  }

  private final PodMutator mutator;

  public Admission(PodMutator mutator) {
    this.mutator = mutator;
  }

  /** The response review for the request review {@code body}. */
  public byte[] review(byte[] body) throws BadReview {
    JsonNode review;
    try {
      review = JSON.readTree(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new BadReview("the body is not JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new BadReview("the body cannot be read: " + e.getMessage());
    }
    if (review == null || !review.isObject()) {
      throw new BadReview("the body is not an AdmissionReview object");
    }
    if (!"admission.k8s.io/v1".equals(review.path("apiVersion").asText()) || !"AdmissionReview".equals(review.path("kind").asText())) {
      throw new BadReview("apiVersion/kind: expected admission.k8s.io/v1 AdmissionReview, got "
          + review.path("apiVersion").asText() + " " + review.path("kind").asText());
    }
    JsonNode request = review.path("request");
    String uid = request.path("uid").asText("");
    if (uid.isEmpty()) {
      throw new BadReview("request.uid: missing");
    }
    ObjectNode response = JSON.createObjectNode();
    response.put("uid", uid);
    boolean isPod = "Pod".equals(request.path("kind").path("kind").asText()) && request.path("kind").path("group").asText("").isEmpty();
    String operation = request.path("operation").asText();
    JsonNode pod = request.path("object");
    if (!isPod || !"CREATE".equals(operation) || !pod.isObject()) {
      response.put("allowed", true);
    } else {
      String namespace = request.path("namespace").asText(pod.path("metadata").path("namespace").asText(""));
      try {
        List<ObjectNode> patch = mutator.mutate(pod, namespace);
        response.put("allowed", true);
        if (!patch.isEmpty()) {
          ArrayNode ops = JSON.createArrayNode().addAll(patch);
          response.put("patchType", "JSONPatch");
          response.put("patch", Base64.getEncoder().encodeToString(ops.toString().getBytes(StandardCharsets.UTF_8)));
        }
      } catch (PodMutator.Refusal e) {
        LOG.info("refused pod " + namespace + "/" + name(pod) + ": " + e.getMessage());
        response.put("allowed", false);
        ObjectNode status = response.putObject("status");
        status.put("code", 400);
        status.put("reason", "BadRequest");
        status.put("message", e.getMessage());
      }
    }
    ObjectNode out = JSON.createObjectNode();
    out.put("apiVersion", "admission.k8s.io/v1");
    out.put("kind", "AdmissionReview");
    out.set("response", response);
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String name(JsonNode pod) {
    String n = pod.path("metadata").path("name").asText("");
    return n.isEmpty() ? pod.path("metadata").path("generateName").asText("") + "*" : n;
  }
}
