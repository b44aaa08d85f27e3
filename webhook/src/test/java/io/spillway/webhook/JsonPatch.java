package io.spillway.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * RFC 6902 apply, strictly, for the operations the webhook emits (add, replace, remove): a path whose parent is
 * missing, a replace of a missing member or an array index out of range fails, as the API server's apply does.
 */
public final class JsonPatch {

  private JsonPatch() {
  }

  public static JsonNode apply(JsonNode doc, JsonNode patch) {
    JsonNode out = doc.deepCopy();
    for (JsonNode op : patch) {
      String kind = op.path("op").asText();
      List<String> path = pointer(op.path("path").asText());
      if (path.isEmpty()) {
        throw new IllegalArgumentException("the whole-document path is not used by the webhook: " + op);
      }
      JsonNode parent = out;
      for (String t : path.subList(0, path.size() - 1)) {
        parent = child(parent, t, op);
      }
      String last = path.get(path.size() - 1);
      switch (kind) {
        case "add" -> {
          if (parent instanceof ObjectNode o) {
            o.set(last, op.get("value"));
          } else if (parent instanceof ArrayNode a) {
            if (last.equals("-")) {
              a.add(op.get("value"));
            } else {
              int i = index(last, a.size() + 1, op);
              a.insert(i, op.get("value"));
            }
          } else {
            throw new IllegalArgumentException("add under a scalar: " + op);
          }
        }
        case "replace" -> {
          if (parent instanceof ObjectNode o) {
            if (!o.has(last)) {
              throw new IllegalArgumentException("replace of a missing member: " + op);
            }
            o.set(last, op.get("value"));
          } else if (parent instanceof ArrayNode a) {
            a.set(index(last, a.size(), op), op.get("value"));
          } else {
            throw new IllegalArgumentException("replace under a scalar: " + op);
          }
        }
        case "remove" -> {
          if (parent instanceof ObjectNode o) {
            if (o.remove(last) == null) {
              throw new IllegalArgumentException("remove of a missing member: " + op);
            }
          } else if (parent instanceof ArrayNode a) {
            a.remove(index(last, a.size(), op));
          }
        }
        default -> throw new IllegalArgumentException("unsupported op " + kind);
      }
    }
    return out;
  }

  private static JsonNode child(JsonNode parent, String token, JsonNode op) {
    JsonNode c = parent.isArray() ? parent.get(index(token, parent.size(), op)) : parent.get(token);
    if (c == null) {
      throw new IllegalArgumentException("path through a missing member " + token + ": " + op);
    }
    return c;
  }

  private static int index(String token, int bound, JsonNode op) {
    if (!token.matches("0|[1-9][0-9]*")) {
      throw new IllegalArgumentException("not an array index: " + token + " in " + op);
    }
    int i = Integer.parseInt(token);
    if (i >= bound) {
      throw new IllegalArgumentException("index " + i + " out of range in " + op);
    }
    return i;
  }

  static List<String> pointer(String p) {
    if (p.isEmpty()) {
      return List.of();
    }
    if (!p.startsWith("/")) {
      throw new IllegalArgumentException("not a JSON pointer: " + p);
    }
    List<String> out = new ArrayList<>();
    for (String t : p.substring(1).split("/", -1)) {
      out.add(t.replace("~1", "/").replace("~0", "~"));
    }
    return out;
  }
}
