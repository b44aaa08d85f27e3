package io.spillway.topology;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.spillway.topology.internal.ModelKeys;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * {@code topology.schema.json} describes exactly the model's keys: the same properties at every level (none
 * missing, none extra), the same required keys, defaults, descriptions and enum labels. The schema is written by
 * hand for editors; this test is what keeps it from drifting from the records.
 */
class TopologySchemaTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void schemaMatchesTheModel() throws Exception {
    JsonNode schema;
    try (InputStream in = Topology.class.getResourceAsStream("topology.schema.json")) {
      assertNotNull(in, "topology.schema.json is on the classpath next to Topology");
      schema = JSON.readTree(in);
    }
    assertEquals("https://json-schema.org/draft/2020-12/schema", schema.path("$schema").asText());

    List<String> drift = new ArrayList<>();
    compareMapping(schema, schema, Topology.class, "", drift);
    assertEquals(List.of(), drift, "schema and model disagree:\n" + String.join("\n", drift));
  }

  /**
   * The keys the loader checks (record components, via {@link ModelKeys}) are the properties Jackson binds: no
   * accessor-like method or annotation adds or renames one behind the model's back.
   */
  @Test
  void jacksonBindsExactlyTheModelKeys() {
    List<String> drift = new ArrayList<>();
    compareWithJackson(Topology.class, new java.util.HashSet<>(), drift);
    assertEquals(List.of(), drift, String.join("\n", drift));
  }

  private void compareWithJackson(Class<?> type, Set<Class<?>> seen, List<String> drift) {
    if (!seen.add(type)) {
      return;
    }
    Set<String> jackson = new TreeSet<>();
    JSON.getDeserializationConfig().introspect(JSON.constructType(type)).findProperties()
        .forEach(p -> jackson.add(p.getName()));
    Set<String> model = new TreeSet<>(ModelKeys.keyNames(type));
    if (!jackson.equals(model)) {
      drift.add(type.getSimpleName() + ": Jackson binds " + jackson + ", the model declares " + model);
    }
    for (ModelKeys.Key key : ModelKeys.keysOf(type)) {
      if (ModelKeys.isMapping(key.itemType())) {
        compareWithJackson(key.itemType(), seen, drift);
      }
    }
  }

  private void compareMapping(JsonNode root, JsonNode node, Class<?> type, String path, List<String> drift) {
    JsonNode object = resolve(root, node);
    if (!object.path("additionalProperties").isBoolean() || object.path("additionalProperties").asBoolean()) {
      drift.add(where(path) + ": additionalProperties must be false, as the loader rejects unknown keys");
    }
    JsonNode properties = object.path("properties");
    Set<String> inSchema = new TreeSet<>();
    properties.fieldNames().forEachRemaining(inSchema::add);
    Set<String> inModel = new TreeSet<>(ModelKeys.keyNames(type));
    for (String name : inModel) {
      if (!inSchema.contains(name)) {
        drift.add(where(path) + ": model key `" + name + "` is missing from the schema");
      }
    }
    for (String name : inSchema) {
      if (!inModel.contains(name)) {
        drift.add(where(path) + ": schema property `" + name + "` is not a key of " + type.getSimpleName());
      }
    }
    Set<String> requiredInSchema = new TreeSet<>();
    object.path("required").forEach(n -> requiredInSchema.add(n.asText()));
    Set<String> requiredInModel = new TreeSet<>();
    ModelKeys.keysOf(type).stream().filter(ModelKeys.Key::required).forEach(k -> requiredInModel.add(k.name()));
    if (!requiredInSchema.equals(requiredInModel)) {
      drift.add(where(path) + ": required is " + requiredInSchema + " in the schema, " + requiredInModel + " in the model");
    }
    for (ModelKeys.Key key : ModelKeys.keysOf(type)) {
      JsonNode property = properties.get(key.name());
      if (property != null) {
        compareKey(root, property, key, path.isEmpty() ? key.name() : path + "." + key.name(), drift);
      }
    }
  }

  private void compareKey(JsonNode root, JsonNode property, ModelKeys.Key key, String path, List<String> drift) {
    if (!key.description().equals(property.path("description").asText())) {
      drift.add(path + ": description differs; the model says \"" + key.description() + "\"");
    }
    JsonNode expectedDefault = key.defaultValue() == null ? null : defaultAsJson(key);
    if (expectedDefault == null ? property.has("default") : !expectedDefault.equals(property.get("default"))) {
      drift.add(path + ": default is " + property.get("default") + " in the schema, " + expectedDefault + " in the model");
    }
    JsonNode item = property;
    if (key.isList()) {
      if (!"array".equals(property.path("type").asText())) {
        drift.add(path + ": the model has a list, the schema no \"type\": \"array\"");
        return;
      }
      item = property.path("items");
      path = path + "[]";
    }
    Class<?> type = key.itemType();
    if (ModelKeys.isMapping(type)) {
      compareMapping(root, item, type, path, drift);
    } else if (type.isEnum()) {
      List<String> labels = new ArrayList<>();
      item.path("enum").forEach(n -> labels.add(n.asText()));
      if (!labels.equals(ModelKeys.labels(type))) {
        drift.add(path + ": enum is " + labels + " in the schema, " + ModelKeys.labels(type) + " in the model");
      }
    } else {
      String expected = type == DataSize.class ? "#/$defs/size" : type == Duration.class ? "#/$defs/duration" : null;
      if (expected != null && !expected.equals(item.path("$ref").asText())) {
        drift.add(path + ": expected \"$ref\": \"" + expected + "\"");
      }
    }
  }

  private static JsonNode defaultAsJson(ModelKeys.Key key) {
    String text = key.defaultValue();
    try {
      if (text.equals("[]") || text.equals("{}") || key.rawType() == int.class || key.rawType() == boolean.class) {
        return JSON.readTree(text);
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return JSON.getNodeFactory().textNode(text);
  }

  private static JsonNode resolve(JsonNode root, JsonNode node) {
    String ref = node.path("$ref").asText("");
    return ref.isEmpty() ? node : root.at(ref.substring(1));
  }

  private static String where(String path) {
    return path.isEmpty() ? "(root)" : path;
  }
}
