package io.spillway.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The subset of kustomize that deploy/ uses, so that CI checks the built output without a kustomize
 * binary: {@code resources} (files and directories), {@code namespace}, {@code labels} (metadata only),
 * {@code configMapGenerator} (files) with {@code generatorOptions} (no name suffix, labels),
 * {@code images} (newName, newTag) and {@code patches} of JSON 6902 operations (add, replace, remove, test)
 * with a target. Any other
 * field of a kustomization fails, so a kustomization that uses more cannot pass unchecked.
 * {@code KustomizeAgreementTest} compares this with {@code kubectl kustomize} where kubectl is installed.
 */
final class Kustomize {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Set<String> FIELDS = Set.of("apiVersion", "kind", "namespace", "labels", "resources",
      "generatorOptions", "configMapGenerator", "images", "patches");
  /** Kinds without a namespace among those deploy/ uses. */
  private static final Set<String> CLUSTER_SCOPED = Set.of("Namespace", "MutatingWebhookConfiguration",
      "ValidatingWebhookConfiguration", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer", "RuntimeClass",
      "CustomResourceDefinition", "PriorityClass");

  private Kustomize() {}

  /** Every YAML document of a file, in order; empty documents are skipped. */
  static List<ObjectNode> readDocuments(Path file) {
    try (YAMLParser parser = ((YAMLFactory) YAML.getFactory()).createParser(file.toFile())) {
      List<ObjectNode> docs = new ArrayList<>();
      Iterator<JsonNode> it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        JsonNode n = it.next();
        if (n != null && !n.isNull() && !n.isMissingNode()) {
          if (!n.isObject()) {
            throw new IllegalArgumentException(file + ": a document is not a mapping: " + n);
          }
          docs.add((ObjectNode) n);
        }
      }
      return docs;
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": " + e.getMessage(), e);
    }
  }

  /** Builds the kustomization in {@code dir}, as {@code kubectl kustomize dir} would. */
  static List<ObjectNode> build(Path dir) {
    Path file = dir.resolve("kustomization.yaml");
    List<ObjectNode> docs = readDocuments(file);
    if (docs.size() != 1) {
      throw new IllegalArgumentException(file + ": expected one document");
    }
    ObjectNode k = docs.get(0);
    k.fieldNames().forEachRemaining(f -> {
      if (!FIELDS.contains(f)) {
        throw new IllegalArgumentException(file + ": field '" + f + "' is outside the subset this test implements");
      }
    });
    List<ObjectNode> out = new ArrayList<>();
    for (JsonNode r : k.path("resources")) {
      Path p = dir.resolve(r.asText()).normalize();
      if (Files.isDirectory(p)) {
        out.addAll(build(p));
      } else {
        out.addAll(readDocuments(p));
      }
    }
    JsonNode options = k.path("generatorOptions");
    expectOnly(file, "generatorOptions", options, Set.of("disableNameSuffixHash", "labels"));
    if (k.has("configMapGenerator") && !options.path("disableNameSuffixHash").asBoolean(false)) {
      throw new IllegalArgumentException(file + ": configMapGenerator without disableNameSuffixHash: "
          + "the name hash is outside the subset");
    }
    for (JsonNode g : k.path("configMapGenerator")) {
      expectOnly(file, "configMapGenerator", g, Set.of("name", "files"));
      ObjectNode cm = JsonNodeFactory.instance.objectNode();
      cm.put("apiVersion", "v1");
      ObjectNode data = cm.putObject("data");
      for (JsonNode f : g.path("files")) {
        Path p = dir.resolve(f.asText()).normalize();
        try {
          data.put(p.getFileName().toString(), Files.readString(p));
        } catch (IOException e) {
          throw new UncheckedIOException(file + ": configMapGenerator file " + p, e);
        }
      }
      cm.put("kind", "ConfigMap");
      ObjectNode meta = cm.putObject("metadata");
      if (options.has("labels")) {
        meta.set("labels", options.get("labels").deepCopy());
      }
      meta.put("name", g.path("name").asText());
      out.add(cm);
    }
    for (JsonNode patch : k.path("patches")) {
      expectOnly(file, "patches", patch, Set.of("target", "patch"));
      JsonNode target = patch.path("target");
      expectOnly(file, "patches.target", target, Set.of("kind", "name", "namespace"));
      JsonNode ops;
      try {
        ops = YAML.readTree(patch.path("patch").asText());
      } catch (IOException e) {
        throw new UncheckedIOException(file + ": patch is not YAML", e);
      }
      int matched = 0;
      for (ObjectNode doc : out) {
        if (matches(target, doc)) {
          matched++;
          for (JsonNode op : ops) {
            JsonPatch.apply(doc, op);
          }
        }
      }
      if (matched == 0) {
        throw new IllegalArgumentException(file + ": patch target " + target + " matches no resource");
      }
    }
    if (k.has("namespace")) {
      String ns = k.get("namespace").asText();
      for (ObjectNode doc : out) {
        if (!CLUSTER_SCOPED.contains(doc.path("kind").asText())) {
          ((ObjectNode) doc.get("metadata")).put("namespace", ns);
        }
      }
    }
    for (JsonNode l : k.path("labels")) {
      expectOnly(file, "labels", l, Set.of("pairs"));
      for (ObjectNode doc : out) {
        ObjectNode meta = (ObjectNode) doc.get("metadata");
        ObjectNode labels = meta.has("labels") ? (ObjectNode) meta.get("labels") : meta.putObject("labels");
        l.get("pairs").fields().forEachRemaining(e -> labels.set(e.getKey(), e.getValue().deepCopy()));
      }
    }
    for (JsonNode image : k.path("images")) {
      expectOnly(file, "images", image, Set.of("name", "newName", "newTag"));
      for (ObjectNode doc : out) {
        retag(doc, image);
      }
    }
    return out;
  }

  private static boolean matches(JsonNode target, ObjectNode doc) {
    for (Map.Entry<String, String> e : Map.of("kind", "/kind", "name", "/metadata/name",
        "namespace", "/metadata/namespace").entrySet()) {
      if (target.has(e.getKey()) && !target.get(e.getKey()).asText().equals(doc.at(e.getValue()).asText())) {
        return false;
      }
    }
    return true;
  }

  /** Rewrites {@code image} of every container and init container whose image name matches. */
  private static void retag(JsonNode node, JsonNode image) {
    if (node.isObject()) {
      for (String list : List.of("containers", "initContainers")) {
        for (JsonNode c : node.path(list)) {
          if (c.has("image")) {
            String ref = c.get("image").asText();
            int colon = ref.lastIndexOf(':');
            String name = colon > ref.lastIndexOf('/') ? ref.substring(0, colon) : ref;
            String tag = colon > ref.lastIndexOf('/') ? ref.substring(colon + 1) : null;
            if (name.equals(image.get("name").asText())) {
              String newName = image.has("newName") ? image.get("newName").asText() : name;
              String newTag = image.has("newTag") ? image.get("newTag").asText() : tag;
              ((ObjectNode) c).set("image", new TextNode(newTag == null ? newName : newName + ":" + newTag));
            }
          }
        }
      }
      node.elements().forEachRemaining(n -> retag(n, image));
    } else if (node.isArray()) {
      node.elements().forEachRemaining(n -> retag(n, image));
    }
  }

  private static void expectOnly(Path file, String where, JsonNode node, Set<String> fields) {
    node.fieldNames().forEachRemaining(f -> {
      if (!fields.contains(f)) {
        throw new IllegalArgumentException(file + ": " + where + "." + f + " is outside the subset this test implements");
      }
    });
  }

  /** RFC 6902 add, replace, remove and test, with RFC 6901 pointers ({@code -} appends to an array). */
  static final class JsonPatch {
    private JsonPatch() {}

    static void apply(ObjectNode doc, JsonNode op) {
      String kind = op.path("op").asText();
      String path = op.path("path").asText();
      int slash = path.lastIndexOf('/');
      JsonNode parent = doc.at(path.substring(0, slash));
      String last = path.substring(slash + 1).replace("~1", "/").replace("~0", "~");
      if (parent.isMissingNode()) {
        throw new IllegalArgumentException("patch " + op + ": no " + path.substring(0, slash));
      }
      switch (kind) {
        case "add", "replace" -> {
          JsonNode value = op.get("value");
          if (parent instanceof ObjectNode o) {
            if (kind.equals("replace") && !o.has(last)) {
              throw new IllegalArgumentException("patch " + op + ": nothing to replace at " + path);
            }
            o.set(last, value.deepCopy());
          } else if (parent instanceof ArrayNode a) {
            if (last.equals("-")) {
              a.add(value.deepCopy());
            } else if (kind.equals("replace")) {
              a.set(index(a, last, op), value.deepCopy());
            } else {
              a.insert(Integer.parseInt(last), value.deepCopy());
            }
          }
        }
        case "remove" -> {
          if (parent instanceof ObjectNode o) {
            if (o.remove(last) == null) {
              throw new IllegalArgumentException("patch " + op + ": nothing to remove at " + path);
            }
          } else if (parent instanceof ArrayNode a) {
            a.remove(index(a, last, op));
          }
        }
        case "test" -> {
          JsonNode actual = parent instanceof ArrayNode a ? a.get(index(a, last, op)) : parent.get(last);
          if (!op.get("value").equals(actual)) {
            throw new IllegalArgumentException("patch " + op + ": " + path + " is " + actual);
          }
        }
        default -> throw new IllegalArgumentException("patch op '" + kind + "' is outside the subset");
      }
    }

    private static int index(ArrayNode a, String last, JsonNode op) {
      int i = Integer.parseInt(last);
      if (i < 0 || i >= a.size()) {
        throw new IllegalArgumentException("patch " + op + ": index " + i + " out of " + a.size());
      }
      return i;
    }
  }
}
