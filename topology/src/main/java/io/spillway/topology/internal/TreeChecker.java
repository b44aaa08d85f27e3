package io.spillway.topology.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spillway.topology.Problem;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Checks a YAML tree against the model's keys before Jackson binds it, so that every problem is reported rather
 * than the first one Jackson trips on: unknown keys (with did-you-mean), missing required keys, lists and
 * mappings where the model wants them, and scalars that do not convert. Fills in declared defaults in place, so
 * that binding sees a complete tree.
 */
public final class TreeChecker {
  private final ObjectMapper mapper;
  private final Locations locations;
  private final List<Problem> problems = new ArrayList<>();

  public TreeChecker(ObjectMapper mapper, Locations locations) {
    this.mapper = mapper;
    this.locations = locations;
  }

  /** @return the problems found, empty when the tree binds to {@code rootType} */
  public List<Problem> check(JsonNode root, Class<?> rootType) {
    checkValue(root, rootType, null, "");
    return problems;
  }

  private void checkValue(JsonNode node, Class<?> type, Class<?> itemType, String path) {
    if (itemType != null) {
      if (!node.isArray()) {
        problems.add(locations.atValue(path, "expected a list, found " + describe(node)));
        return;
      }
      for (int i = 0; i < node.size(); i++) {
        JsonNode item = node.get(i);
        String itemPath = Locations.item(path, i);
        if (item.isNull()) {
          problems.add(locations.atValue(itemPath, "empty list item"));
        } else {
          checkValue(item, itemType, null, itemPath);
        }
      }
    } else if (ModelKeys.isMapping(type)) {
      if (!node.isObject()) {
        problems.add(locations.atValue(path, "expected a mapping with keys "
            + String.join(", ", ModelKeys.keyNames(type)) + "; found " + describe(node)));
        return;
      }
      checkMapping((ObjectNode) node, type, path);
    } else {
      String error = scalarError(node, type);
      if (error != null) {
        problems.add(locations.atValue(path, error));
      }
    }
  }

  private void checkMapping(ObjectNode object, Class<?> type, String path) {
    List<String> known = ModelKeys.keyNames(type);
    // A misspelt required key would also be reported missing; the typo says it all, so say it once.
    Set<String> suggested = new HashSet<>();
    for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!known.contains(name)) {
        Suggestions.closest(name, known).ifPresent(suggested::add);
        problems.add(locations.atKey(Locations.child(path, name), "unknown key `" + name + "`"
            + Suggestions.didYouMean(name, known, "`") + "; keys here: " + String.join(", ", known)));
      }
    }
    for (ModelKeys.Key key : ModelKeys.keysOf(type)) {
      String childPath = Locations.child(path, key.name());
      JsonNode value = object.get(key.name());
      if (value == null || value.isNull()) {
        if (key.required() && value == null && suggested.contains(key.name())) {
          continue;
        }
        if (key.required()) {
          problems.add(value == null
              ? locations.atValue(childPath, "required key `" + key.name() + "` is missing")
              : locations.atValue(childPath, "required key `" + key.name() + "` has no value"));
        } else if (key.defaultValue() != null) {
          JsonNode defaultNode = defaultNode(key);
          object.set(key.name(), defaultNode);
          checkValue(defaultNode, key.rawType(), key.isList() ? key.itemType() : null, childPath);
        } else {
          object.remove(key.name());
        }
        continue;
      }
      checkValue(value, key.rawType(), key.isList() ? key.itemType() : null, childPath);
    }
  }

  private static JsonNode defaultNode(ModelKeys.Key key) {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    String text = key.defaultValue();
    if (text.equals("[]")) {
      return nodes.arrayNode();
    }
    if (text.equals("{}")) {
      return nodes.objectNode();
    }
    Class<?> type = key.rawType();
    if (type == int.class || type == Integer.class) {
      return nodes.numberNode(Integer.parseInt(text));
    }
    if (type == boolean.class || type == Boolean.class) {
      return nodes.booleanNode(Boolean.parseBoolean(text));
    }
    return nodes.textNode(text);
  }

  /** Null when {@code node} converts to {@code type}, else the message. */
  private String scalarError(JsonNode node, Class<?> type) {
    if (node.isContainerNode()) {
      return "expected " + article(ModelKeys.isScalar(type) ? scalarName(type) : "value")
          + ", found " + describe(node);
    }
    if (type == String.class) {
      return null;
    }
    if (type == int.class || type == Integer.class) {
      return node.isIntegralNumber() && node.canConvertToInt() ? null : describe(node) + " is not a whole number";
    }
    if (type == boolean.class || type == Boolean.class) {
      return node.isBoolean() ? null : describe(node) + " is not true or false";
    }
    try {
      mapper.treeToValue(node, type);
      return null;
    } catch (JacksonException | IllegalArgumentException e) {
      return conversionMessage(e);
    }
  }

  /** The model's own parsers throw IllegalArgumentException with a complete message; Jackson wraps it. */
  public static String conversionMessage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof IllegalArgumentException && !(t instanceof JacksonException) && t.getMessage() != null) {
        return t.getMessage();
      }
    }
    return e instanceof JacksonException j ? j.getOriginalMessage() : String.valueOf(e.getMessage());
  }

  private static String scalarName(Class<?> type) {
    String name = ModelKeys.typeName(new ModelKeys.Key("", type, false, null, ""));
    return name.equals("enum") ? "one of " + String.join(", ", ModelKeys.labels(type)) : name;
  }

  private static String article(String noun) {
    return noun.startsWith("one of") ? noun : ("aeiou".indexOf(noun.charAt(0)) >= 0 ? "an " : "a ") + noun;
  }

  static String describe(JsonNode node) {
    if (node.isObject()) {
      return "a mapping";
    }
    if (node.isArray()) {
      return "a list";
    }
    if (node.isNull()) {
      return "nothing";
    }
    return node.isTextual() ? "\"" + node.asText() + "\"" : node.toString();
  }
}
