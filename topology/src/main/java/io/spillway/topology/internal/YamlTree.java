package io.spillway.topology.internal;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.spillway.topology.Problem;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads YAML into a Jackson tree while recording where every key and value was written. Jackson's own tree has
 * no locations, so this walks the parser's tokens and asks {@link JsonParser#currentTokenLocation()} for each.
 */
public final class YamlTree {

  /** @param root null when the file could not be read (then {@code problems} says why) */
  public record Result(JsonNode root, Locations locations, List<Problem> problems) {
  }

  private final JsonParser parser;
  private final Locations locations;
  private final List<Problem> problems = new ArrayList<>();
  private final JsonNodeFactory nodes = JsonNodeFactory.instance;

  private YamlTree(JsonParser parser, Locations locations) {
    this.parser = parser;
    this.locations = locations;
  }

  public static Result read(YAMLFactory factory, String text, String file) {
    Locations locations = new Locations(file);
    try (JsonParser parser = factory.createParser(text)) {
      YamlTree tree = new YamlTree(parser, locations);
      if (parser.nextToken() == null) {
        return new Result(null, locations, List.of(new Problem(file, 1, 1, "", "the file is empty")));
      }
      JsonNode root = tree.readValue("");
      if (parser.nextToken() != null) {
        Locations.Location l = at(parser.currentTokenLocation());
        tree.problems.add(new Problem(file, l.line(), l.column(), "",
            "a second YAML document starts here; a topology file holds exactly one"));
      }
      return new Result(root, locations, tree.problems);
    } catch (StreamReadException e) {
      return new Result(null, locations, List.of(syntaxError(file, e)));
    } catch (IOException e) {
      throw new IllegalStateException("reading from a string cannot fail", e);
    }
  }

  private JsonNode readValue(String path) throws IOException {
    JsonToken token = parser.currentToken();
    locations.value(path, at(parser.currentTokenLocation()));
    switch (token) {
      case START_OBJECT: {
        ObjectNode object = nodes.objectNode();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String name = parser.currentName();
          String childPath = Locations.child(path, name);
          Locations.Location keyLocation = at(parser.currentTokenLocation());
          if (object.has(name)) {
            Locations.Location first = locations.keyOf(childPath);
            problems.add(new Problem(locations.file(), keyLocation.line(), keyLocation.column(), childPath,
                "key `" + name + "` appears twice in this mapping (first at line " + first.line() + ")"));
            parser.nextToken();
            parser.skipChildren();
            continue;
          }
          locations.key(childPath, keyLocation);
          parser.nextToken();
          object.set(name, readValue(childPath));
        }
        return object;
      }
      case START_ARRAY: {
        ArrayNode array = nodes.arrayNode();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
          array.add(readValue(Locations.item(path, array.size())));
        }
        return array;
      }
      case VALUE_STRING:
        return nodes.textNode(parser.getText());
      case VALUE_NUMBER_INT:
        return switch (parser.getNumberType()) {
          case INT -> nodes.numberNode(parser.getIntValue());
          case LONG -> nodes.numberNode(parser.getLongValue());
          default -> nodes.numberNode(parser.getBigIntegerValue());
        };
      case VALUE_NUMBER_FLOAT:
        return nodes.numberNode(parser.getDecimalValue());
      case VALUE_TRUE:
        return nodes.booleanNode(true);
      case VALUE_FALSE:
        return nodes.booleanNode(false);
      case VALUE_NULL:
        return nodes.nullNode();
      default:
        // YAML has no other scalar tokens; an embedded object would be a parser extension.
        return nodes.textNode(parser.getText());
    }
  }

  private static Problem syntaxError(String file, StreamReadException e) {
    // SnakeYAML knows where the problem is (its "problem mark"); Jackson's location is where it stopped.
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof MarkedYAMLException yaml && yaml.getProblemMark() != null) {
        Mark mark = yaml.getProblemMark();
        String message = "YAML syntax: " + yaml.getProblem()
            + (yaml.getContext() != null ? " (" + yaml.getContext() + ")" : "");
        return new Problem(file, mark.getLine() + 1, mark.getColumn() + 1, "", message);
      }
    }
    Locations.Location l = e.getLocation() == null ? new Locations.Location(1, 1) : at(e.getLocation());
    return new Problem(file, l.line(), l.column(), "", "YAML syntax: " + e.getOriginalMessage());
  }

  private static Locations.Location at(JsonLocation location) {
    return new Locations.Location(Math.max(1, location.getLineNr()), Math.max(1, location.getColumnNr()));
  }
}
