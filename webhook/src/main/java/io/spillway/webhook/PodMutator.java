package io.spillway.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns what a pod asks in its {@code spillway.io/*} annotations into the device plugin's resource limit and
 * the shim's slice request ({@code SPILLWAY_SLICE}), as RFC 6902 operations on the pod. Pure: no I/O, no
 * state; the same pod gives the same patch, and a pod it already rewrote gives none (reinvocation).
 *
 * <p>Annotations, per GPU: {@code spillway.io/gpu-count} (1..64), {@code spillway.io/gpu-memory} (bytes such
 * as {@code 8GiB}, or a percent of the card such as {@code 50%}), {@code spillway.io/gpu-compute} (percent),
 * {@code spillway.io/gpu-model} ({@code V100} or {@code V100,P40}). Pod-level keys apply to the containers
 * named in {@code spillway.io/containers}, else to the first app container; {@code <key>.<container>} sets or
 * overrides one container (init containers included).
 */
public final class PodMutator {

  /** A request the webhook refuses; the message names the field. */
  public static final class Refusal extends Exception {
    private static final long serialVersionUID = 1L;

    public Refusal(String message) {
      super(message);
    }
  }

  static final String PREFIX = "spillway.io/";
  static final String COUNT = "gpu-count";
  static final String MEMORY = "gpu-memory";
  static final String COMPUTE = "gpu-compute";
  static final String MODEL = "gpu-model";
  static final String CONTAINERS = "containers";
  static final List<String> KEYS = List.of(COUNT, MEMORY, COMPUTE, MODEL);
  public static final String SLICE_ENV = "SPILLWAY_SLICE";

  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private final WebhookConfig config;

  public PodMutator(WebhookConfig config) {
    this.config = config;
  }

  /** One container of the pod, where it sits in the document. */
  private record Target(String name, String path, String field, ObjectNode node) {
  }

  /** What one container asks, each value with the annotation it came from. */
  private static final class Ask {
    final Map<String, String> values = new LinkedHashMap<>();
    final Map<String, String> from = new LinkedHashMap<>();

    void put(String key, String value, String annotation) {
      values.put(key, value);
      from.put(key, annotation);
    }
  }

  /**
   * The patch for {@code pod} in {@code namespace}: empty when the pod asks nothing (or its namespace is
   * skipped).
   */
  public List<ObjectNode> mutate(JsonNode pod, String namespace) throws Refusal {
    if (namespace != null && config.skipNamespaces().contains(namespace)) {
      return List.of();
    }
    Map<String, String> ours = new TreeMap<>();
    JsonNode annotations = pod.path("metadata").path("annotations");
    for (Iterator<Map.Entry<String, JsonNode>> it = annotations.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().startsWith(PREFIX)) {
        ours.put(e.getKey().substring(PREFIX.length()), e.getValue().asText());
      }
    }
    if (ours.isEmpty()) {
      return List.of();
    }
    Map<String, Target> byName = new LinkedHashMap<>();
    List<Target> app = targets(pod, "containers", byName);
    targets(pod, "initContainers", byName);

    Map<String, String> podLevel = new LinkedHashMap<>();
    Map<String, Ask> asks = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : ours.entrySet()) {
      String key = e.getKey();
      String annotation = "metadata.annotations[" + PREFIX + key + "]";
      if (key.equals(CONTAINERS)) {
        continue;
      }
      int dot = key.indexOf('.');
      String base = dot < 0 ? key : key.substring(0, dot);
      if (!KEYS.contains(base)) {
        if (base.startsWith("gpu-")) {
          throw new Refusal(annotation + ": unknown key " + PREFIX + base + " (expected " + PREFIX + "gpu-count, "
              + "gpu-memory, gpu-compute, gpu-model or containers)");
        }
        continue;
      }
      if (dot < 0) {
        podLevel.put(base, e.getValue());
      } else {
        String container = key.substring(dot + 1);
        if (!byName.containsKey(container)) {
          throw new Refusal(annotation + ": the pod has no container " + container + " (containers: "
              + String.join(", ", byName.keySet()) + ")");
        }
        asks.computeIfAbsent(container, c -> new Ask()).put(base, e.getValue(), annotation);
      }
    }
    if (!podLevel.isEmpty()) {
      List<String> names = new ArrayList<>();
      String listed = ours.get(CONTAINERS);
      if (listed != null) {
        for (String n : listed.split(",")) {
          String name = n.strip();
          if (name.isEmpty()) {
            continue;
          }
          if (!byName.containsKey(name)) {
            throw new Refusal("metadata.annotations[" + PREFIX + CONTAINERS + "]: the pod has no container " + name
                + " (containers: " + String.join(", ", byName.keySet()) + ")");
          }
          names.add(name);
        }
      } else if (!app.isEmpty()) {
        names.add(app.get(0).name());
      }
      if (names.isEmpty()) {
        throw new Refusal("metadata.annotations[" + PREFIX + CONTAINERS + "]: names no container");
      }
      for (String name : names) {
        Ask own = asks.computeIfAbsent(name, c -> new Ask());
        for (Map.Entry<String, String> p : podLevel.entrySet()) {
          if (!own.values.containsKey(p.getKey())) {
            own.put(p.getKey(), p.getValue(), "metadata.annotations[" + PREFIX + p.getKey() + "]");
          }
        }
      }
    } else if (ours.containsKey(CONTAINERS) && asks.isEmpty()) {
      throw new Refusal("metadata.annotations[" + PREFIX + CONTAINERS + "]: set, but no " + PREFIX
          + "gpu-* annotation says what those containers ask");
    }
    List<ObjectNode> patch = new ArrayList<>();
    for (Map.Entry<String, Ask> a : asks.entrySet()) {
      rewrite(byName.get(a.getKey()), a.getValue(), patch);
    }
    return patch;
  }

  private static List<Target> targets(JsonNode pod, String field, Map<String, Target> byName) throws Refusal {
    List<Target> out = new ArrayList<>();
    JsonNode list = pod.path("spec").path(field);
    for (int i = 0; i < list.size(); i++) {
      JsonNode c = list.get(i);
      if (!c.isObject()) {
        continue;
      }
      String name = c.path("name").asText("");
      Target t = new Target(name, "/spec/" + field + "/" + i, "spec." + field + "[" + i + "]", (ObjectNode) c);
      out.add(t);
      byName.putIfAbsent(name, t);
    }
    return out;
  }

  /** Parses one container's ask and appends the operations that make the container say it. */
  private void rewrite(Target t, Ask ask, List<ObjectNode> patch) throws Refusal {
    int count = 1;
    if (ask.values.containsKey(COUNT)) {
      count = intIn(ask.values.get(COUNT), 1, 64, ask.from.get(COUNT), "a GPU count");
    }
    String memory = ask.values.get(MEMORY);
    if (memory == null) {
      throw new Refusal("metadata.annotations[" + PREFIX + MEMORY + "]: missing for container " + t.name()
          + ", which asks for a GPU (" + String.join(", ", ask.from.values()) + "); say its memory per GPU, e.g. 8GiB or 50%");
    }
    long bytes = 0;
    int percent = 0;
    String memoryField = ask.from.get(MEMORY);
    if (memory.strip().endsWith("%")) {
      percent = intIn(memory.strip().substring(0, memory.strip().length() - 1), 1, 100, memoryField, "a percent 1%..100%");
    } else {
      bytes = Sizes.parse(memory);
      if (bytes < 0) {
        throw new Refusal(memoryField + ": \"" + memory + "\" is not bytes (8GiB, 512MiB, 1000000) or a percent (50%)");
      }
    }
    int compute = -1;
    if (ask.values.containsKey(COMPUTE)) {
      String c = ask.values.get(COMPUTE).strip();
      compute = intIn(c.endsWith("%") ? c.substring(0, c.length() - 1) : c, 0, 100, ask.from.get(COMPUTE), "a percent 0..100");
    }
    List<String> models = new ArrayList<>();
    if (ask.values.containsKey(MODEL)) {
      for (String m : ask.values.get(MODEL).split("[,+]")) {
        String model = m.strip();
        if (!model.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
          throw new Refusal(ask.from.get(MODEL) + ": \"" + ask.values.get(MODEL) + "\" is not a model list such as V100 or V100,P40");
        }
        models.add(model);
      }
    }
    long perGpu = bytes;
    if (percent > 0) {
      long card = cardBytes(models, ask.from.get(MODEL), memoryField);
      perGpu = (card * percent + 99) / 100;
    }
    long units = (count * perGpu + config.unitBytes() - 1) / config.unitBytes();
    StringBuilder slice = new StringBuilder("gpus=").append(count);
    slice.append(percent > 0 ? ",percent=" + percent : ",memory=" + bytes);
    if (compute >= 0) {
      slice.append(",compute=").append(compute);
    }
    if (!models.isEmpty()) {
      slice.append(",model=").append(String.join("+", models));
    }
    limits(t, units, patch);
    env(t, slice.toString(), patch);
  }

  private long cardBytes(List<String> models, String modelField, String memoryField) throws Refusal {
    if (config.cardMemory().isEmpty()) {
      throw new Refusal(memoryField + ": a percent needs the card's memory, and this webhook knows no card "
          + "(configure --card-memory MODEL=SIZE), so give bytes such as 8GiB");
    }
    long max = 0;
    if (models.isEmpty()) {
      for (long b : config.cardMemory().values()) {
        max = Math.max(max, b);
      }
      return max;
    }
    for (String m : models) {
      Long b = null;
      for (Map.Entry<String, Long> e : config.cardMemory().entrySet()) {
        if (e.getKey().equalsIgnoreCase(m)) {
          b = e.getValue();
        }
      }
      if (b == null) {
        throw new Refusal(modelField + ": model " + m + " has no known memory, so " + memoryField
            + " cannot be turned into " + config.resource() + " (known: " + String.join(", ", config.cardMemory().keySet()) + ")");
      }
      max = Math.max(max, b);
    }
    return max;
  }

  private void limits(Target t, long units, List<ObjectNode> patch) throws Refusal {
    String value = String.valueOf(units);
    String key = escape(config.resource());
    JsonNode resources = t.node().get("resources");
    if (resources == null || !resources.isObject()) {
      ObjectNode r = F.objectNode();
      r.putObject("limits").put(config.resource(), value);
      patch.add(op("add", t.path() + "/resources", r));
      return;
    }
    JsonNode requests = resources.path("requests");
    JsonNode askedRequest = requests.get(config.resource());
    if (askedRequest != null && !sameQuantity(askedRequest, units)) {
      throw new Refusal(t.field() + ".resources.requests[" + config.resource() + "]: " + askedRequest.asText()
          + " conflicts with the " + units + " units the " + PREFIX + "gpu-* annotations ask for");
    }
    JsonNode limits = resources.get("limits");
    if (limits == null || !limits.isObject()) {
      ObjectNode l = F.objectNode().put(config.resource(), value);
      patch.add(op("add", t.path() + "/resources/limits", l));
      return;
    }
    JsonNode asked = limits.get(config.resource());
    if (asked == null) {
      patch.add(op("add", t.path() + "/resources/limits/" + key, F.textNode(value)));
    } else if (!sameQuantity(asked, units)) {
      throw new Refusal(t.field() + ".resources.limits[" + config.resource() + "]: " + asked.asText()
          + " conflicts with the " + units + " units the " + PREFIX + "gpu-* annotations ask for");
    }
  }

  private static boolean sameQuantity(JsonNode q, long units) {
    return q.asText().strip().equals(String.valueOf(units));
  }

  private void env(Target t, String slice, List<ObjectNode> patch) {
    JsonNode env = t.node().get("env");
    if (env == null || !env.isArray()) {
      ArrayNode list = F.arrayNode();
      list.addObject().put("name", SLICE_ENV).put("value", slice);
      patch.add(op("add", t.path() + "/env", list));
      return;
    }
    boolean found = false;
    for (int i = 0; i < env.size(); i++) {
      JsonNode e = env.get(i);
      String name = e.path("name").asText();
      if (name.equals(SLICE_ENV)) {
        found = true;
        if (!slice.equals(e.path("value").asText(null)) || e.has("valueFrom")) {
          patch.add(op("replace", t.path() + "/env/" + i, F.objectNode().put("name", SLICE_ENV).put("value", slice)));
        }
      } else if (name.equals("LD_LIBRARY_PATH") && e.has("value")) {
        String v = e.path("value").asText();
        if (!v.equals(config.shimDir()) && !v.startsWith(config.shimDir() + ":")) {
          patch.add(op("replace", t.path() + "/env/" + i + "/value", F.textNode(config.shimDir() + (v.isEmpty() ? "" : ":" + v))));
        }
      }
    }
    if (!found) {
      patch.add(op("add", t.path() + "/env/-", F.objectNode().put("name", SLICE_ENV).put("value", slice)));
    }
  }

  private static int intIn(String value, int min, int max, String field, String what) throws Refusal {
    String v = value.strip();
    if (v.matches("[0-9]{1,9}")) {
      int n = Integer.parseInt(v);
      if (n >= min && n <= max) {
        return n;
      }
    }
    throw new Refusal(field + ": \"" + value + "\" is invalid: expected " + what + " (" + min + ".." + max + ")");
  }

  /** RFC 6901: {@code ~} as {@code ~0}, {@code /} as {@code ~1}. */
  static String escape(String token) {
    return token.replace("~", "~0").replace("/", "~1");
  }

  private static ObjectNode op(String op, String path, JsonNode value) {
    ObjectNode o = F.objectNode();
    o.put("op", op);
    o.put("path", path);
    o.set("value", value);
    return o;
  }
}
