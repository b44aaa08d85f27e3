package io.spillway.topology;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.spillway.topology.internal.Locations;
import io.spillway.topology.internal.SemanticChecks;
import io.spillway.topology.internal.TreeChecker;
import io.spillway.topology.internal.YamlTree;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Reads a topology file into a validated {@link Topology}, or fails with every problem in it.
 *
 * <p>Three passes, each reporting all it finds: the YAML is read into a tree that remembers where each key and
 * value was written (syntax errors stop here); the tree is checked against the model's keys and defaults are
 * filled in (unknown keys, missing keys, values that do not convert); the tree is bound by Jackson and the
 * cross-key rules run on the result (names, references, capacities, ports, timing). A pass runs only if the one
 * before it found nothing, since it needs what that pass produces.
 *
 * <p>Stateless and thread-safe.
 */
public final class TopologyLoader {

  private static final YAMLMapper MAPPER = YAMLMapper.builder(YAMLFactory.builder().build())
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .addModule(new SimpleModule("spillway-topology").addDeserializer(Duration.class, new DurationDeserializer()))
      .build();

  private TopologyLoader() {
  }

  /**
   * @throws IOException       the file cannot be read
   * @throws TopologyException the file is not a valid topology; problems name the file as {@code file.toString()}
   */
  public static Topology load(Path file) throws IOException, TopologyException {
    return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
  }

  /** {@link #load}, keeping where each key was written. */
  public static LocatedTopology loadLocated(Path file) throws IOException, TopologyException {
    return parseLocated(Files.readString(file, StandardCharsets.UTF_8), file.toString());
  }

  /**
   * @param fileName how problems name the file
   * @throws TopologyException with every problem found, in file order
   */
  public static Topology parse(String yamlText, String fileName) throws TopologyException {
    return parseLocated(yamlText, fileName).topology();
  }

  /** {@link #parse}, keeping where each key was written. */
  public static LocatedTopology parseLocated(String yamlText, String fileName) throws TopologyException {
    YamlTree.Result read = YamlTree.read(MAPPER.getFactory(), yamlText, fileName);
    if (!read.problems().isEmpty()) {
      throw new TopologyException(read.problems());
    }
    Locations locations = read.locations();
    List<Problem> shape = new TreeChecker(MAPPER, locations).check(read.root(), Topology.class);
    if (!shape.isEmpty()) {
      throw new TopologyException(shape);
    }
    Topology topology;
    try {
      topology = MAPPER.treeToValue(read.root(), Topology.class);
    } catch (JacksonException e) {
      // The tree check accepts only what binds; reaching this is a gap between the two, reported usefully.
      throw new TopologyException(List.of(locations.atValue(pathOf(e), TreeChecker.conversionMessage(e))));
    }
    List<Problem> rules = new SemanticChecks(locations).check(topology);
    if (!rules.isEmpty()) {
      throw new TopologyException(rules);
    }
    return new LocatedTopology(topology, locations);
  }

  private static String pathOf(JacksonException e) {
    if (!(e instanceof JsonMappingException m)) {
      return "";
    }
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference ref : m.getPath()) {
      if (ref.getIndex() >= 0) {
        path.append('[').append(ref.getIndex()).append(']');
      } else if (ref.getFieldName() != null) {
        path.append(path.length() == 0 ? "" : ".").append(ref.getFieldName());
      }
    }
    return path.toString();
  }

  /** Topology durations are "30s", not ISO-8601 "PT30S"; see {@link Durations}. */
  private static final class DurationDeserializer extends StdScalarDeserializer<Duration> {
    DurationDeserializer() {
      super(Duration.class);
    }

    @Override
    public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String text = p.getText();
      try {
        return Durations.parse(text);
      } catch (IllegalArgumentException e) {
        InvalidFormatException failure = InvalidFormatException.from(p, e.getMessage(), text, Duration.class);
        failure.initCause(e);
        throw failure;
      }
    }
  }
}
