package io.spillway.topology.internal;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.spillway.topology.DataSize;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * The keys of the topology YAML, read from the model records: each record component is a key, and its
 * {@link JsonProperty} ({@code required}, {@code defaultValue}) and {@link JsonPropertyDescription} annotations
 * are the one declaration of that key. The loader, the schema test and the documentation test all read the
 * keys from here.
 *
 * <p>A key's type is a <em>mapping</em> (another model record), a <em>list</em> of something, or a
 * <em>scalar</em>: string, int, boolean, {@link DataSize}, {@link Duration} or an enum.
 */
public final class ModelKeys {

  /**
   * @param defaultValue as written in YAML ({@code "30s"}, {@code "[]"}, {@code "{}"}), or null when the key has
   *                     none (required keys, and optional keys that stay null)
   */
  public record Key(String name, Type type, boolean required, String defaultValue, String description) {
    public Class<?> rawType() {
      return raw(type);
    }

    public boolean isList() {
      return rawType() == List.class;
    }

    /** The element class of a list, or the key's own class. */
    public Class<?> itemType() {
      return isList() ? raw(((ParameterizedType) type).getActualTypeArguments()[0]) : rawType();
    }
  }

  private static final Set<Class<?>> SCALARS = Set.of(String.class, int.class, Integer.class, long.class,
      Long.class, boolean.class, Boolean.class, DataSize.class, Duration.class);
  private static final Map<Class<?>, List<Key>> CACHE = new ConcurrentHashMap<>();

  private ModelKeys() {
  }

  public static boolean isScalar(Class<?> type) {
    return SCALARS.contains(type) || type.isEnum();
  }

  public static boolean isMapping(Class<?> type) {
    return type.isRecord() && !isScalar(type);
  }

  /** The keys of one mapping, in declaration order. */
  public static List<Key> keysOf(Class<?> recordType) {
    if (!isMapping(recordType)) {
      throw new IllegalArgumentException(recordType + " is not a topology mapping");
    }
    return CACHE.computeIfAbsent(recordType, ModelKeys::introspect);
  }

  public static List<String> keyNames(Class<?> recordType) {
    return keysOf(recordType).stream().map(Key::name).toList();
  }

  private static List<Key> introspect(Class<?> recordType) {
    List<Key> keys = new ArrayList<>();
    for (RecordComponent component : recordType.getRecordComponents()) {
      // Jackson's annotations do not target record components; javac puts them on the field.
      JsonProperty property;
      JsonPropertyDescription description;
      try {
        var field = recordType.getDeclaredField(component.getName());
        property = field.getAnnotation(JsonProperty.class);
        description = field.getAnnotation(JsonPropertyDescription.class);
      } catch (NoSuchFieldException e) {
        throw new IllegalStateException(e);
      }
      if (description == null) {
        throw new IllegalStateException(recordType.getSimpleName() + "." + component.getName()
            + " has no @JsonPropertyDescription: every topology key is documented");
      }
      String name = property != null && !property.value().isEmpty() ? property.value() : component.getName();
      boolean required = property != null && property.required();
      String defaultValue = property != null && !property.defaultValue().isEmpty() ? property.defaultValue() : null;
      keys.add(new Key(name, component.getGenericType(), required, defaultValue, description.value()));
    }
    return List.copyOf(keys);
  }

  /**
   * Every key path of the model in documentation form, depth first: {@code center},
   * {@code center.gateways}, {@code center.gateways[].name}, ...
   */
  public static List<String> paths(Class<?> root) {
    List<String> out = new ArrayList<>();
    collect(root, "", out);
    return out;
  }

  private static void collect(Class<?> type, String prefix, List<String> out) {
    for (Key key : keysOf(type)) {
      String path = prefix + key.name();
      out.add(path);
      if (isMapping(key.itemType())) {
        collect(key.itemType(), path + (key.isList() ? "[]." : "."), out);
      }
    }
  }

  /** The key at a documentation path such as {@code edges[].spill.mode}. */
  public static Key keyAt(Class<?> root, String path) {
    Class<?> type = root;
    Key key = null;
    for (String part : path.split("\\.")) {
      String name = part.endsWith("[]") ? part.substring(0, part.length() - 2) : part;
      Class<?> owner = type;
      key = keysOf(owner).stream().filter(k -> k.name().equals(name)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no key " + name + " in " + owner.getSimpleName()));
      type = key.itemType();
    }
    return key;
  }

  /** How the documentation names a key's type: {@code string}, {@code size}, {@code list of mappings}... */
  public static String typeName(Key key) {
    return key.isList() ? "list of " + plural(typeName(key.itemType())) : typeName(key.rawType());
  }

  private static String typeName(Class<?> type) {
    if (type == String.class) {
      return "string";
    }
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
      return "integer";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "boolean";
    }
    if (type == DataSize.class) {
      return "size";
    }
    if (type == Duration.class) {
      return "duration";
    }
    if (type.isEnum()) {
      return "enum";
    }
    return "mapping";
  }

  private static String plural(String typeName) {
    return typeName.endsWith("s") ? typeName : typeName + "s";
  }

  /** The labels an enum accepts, as written in YAML. */
  public static List<String> labels(Class<?> enumType) {
    return Arrays.stream(enumType.getEnumConstants()).map(ModelKeys::label).collect(Collectors.toList());
  }

  private static String label(Object constant) {
    try {
      return (String) constant.getClass().getMethod("label").invoke(constant);
    } catch (ReflectiveOperationException e) {
      return ((Enum<?>) constant).name();
    }
  }

  static Class<?> raw(Type type) {
    if (type instanceof Class<?> c) {
      return c;
    }
    if (type instanceof ParameterizedType p) {
      return (Class<?>) p.getRawType();
    }
    throw new IllegalArgumentException("unsupported type in the topology model: " + type);
  }
}
