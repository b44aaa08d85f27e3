package io.spillway.config.reference;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import io.spillway.config.Doc;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The rows of a {@code @ConfigMapping} interface. Keys are derived as SmallRye Config derives them: the
 * prefix, then each method name in kebab-case ({@code @WithName} where given), a group (an interface the
 * method returns) as a path segment, a {@code Map} of groups as one quoted segment ({@code "<tenant>"},
 * the placeholder from the map method's {@link Doc#mapKey}). Rows are sorted by key.
 */
final class MappingRows {

  private MappingRows() {}

  static List<Row> of(Class<?> mapping) {
    ConfigMapping annotation = mapping.getAnnotation(ConfigMapping.class);
    if (annotation == null) {
      throw new IllegalArgumentException(mapping.getName() + " is not a @ConfigMapping");
    }
    List<Row> rows = new ArrayList<>();
    walk(mapping, annotation.prefix(), rows);
    rows.sort(Comparator.comparing(Row::key));
    return rows;
  }

  private static void walk(Class<?> group, String prefix, List<Row> out) {
    Method[] methods = group.getMethods();
    Arrays.sort(methods, Comparator.comparing(Method::getName));
    for (Method m : methods) {
      if (m.isDefault() || Modifier.isStatic(m.getModifiers()) || m.isSynthetic()
          || m.getParameterCount() > 0 || m.getDeclaringClass() == Object.class) {
        continue;
      }
      WithName named = m.getAnnotation(WithName.class);
      String key = prefix + "." + (named != null ? named.value() : kebab(m.getName()));
      Type generic = m.getGenericReturnType();
      Class<?> type = m.getReturnType();
      if (Map.class.isAssignableFrom(type) && isGroup(typeArgument(generic, 1))) {
        Doc doc = m.getAnnotation(Doc.class);
        String placeholder = doc != null ? doc.mapKey() : "name";
        walk((Class<?>) typeArgument(generic, 1), key + ".\"<" + placeholder + ">\"", out);
      } else if (isGroup(type)) {
        walk(type, key, out);
      } else if (type == Optional.class && isGroup(typeArgument(generic, 0))) {
        walk((Class<?>) typeArgument(generic, 0), key, out);
      } else {
        out.add(leaf(group, m, key));
      }
    }
  }

  private static Row leaf(Class<?> group, Method m, String key) {
    Doc doc = m.getAnnotation(Doc.class);
    if (doc == null || doc.value().isBlank()) {
      throw new IllegalStateException(group.getName() + "." + m.getName() + "() (key " + key
          + ") has no @Doc sentence; every key is documented where it is declared");
    }
    WithDefault dflt = m.getAnnotation(WithDefault.class);
    String defaultCell = dflt != null ? "`" + dflt.value() + "`"
        : !doc.defaultText().isBlank() ? doc.defaultText() : "none";
    String type = !doc.type().isBlank() ? doc.type() : typeName(m.getGenericReturnType());
    return new Row(key, type, defaultCell, doc.value());
  }

  /** A config group: an interface of the project's own (not a JDK collection or a value type). */
  private static boolean isGroup(Type type) {
    return type instanceof Class<?> c && c.isInterface() && !c.getName().startsWith("java.");
  }

  private static Type typeArgument(Type generic, int index) {
    return generic instanceof ParameterizedType p ? p.getActualTypeArguments()[index] : Object.class;
  }

  /** The type column derived from the Java type, for keys whose {@link Doc#type} is empty. */
  static String typeName(Type generic) {
    if (generic instanceof ParameterizedType p) {
      Class<?> raw = (Class<?>) p.getRawType();
      if (raw == Optional.class) {
        return typeName(p.getActualTypeArguments()[0]);
      }
      if (Collection.class.isAssignableFrom(raw)) {
        return typeName(p.getActualTypeArguments()[0]) + ",...";
      }
    }
    Class<?> c = (Class<?>) (generic instanceof ParameterizedType p ? p.getRawType() : generic);
    if (c == Duration.class) {
      return "duration";
    }
    if (c == MemorySize.class) {
      return "size";
    }
    if (c == boolean.class || c == Boolean.class) {
      return "boolean";
    }
    if (c == int.class || c == long.class || c == short.class || c == Integer.class || c == Long.class
        || c == Short.class) {
      return "count";
    }
    if (c == double.class || c == float.class || c == Double.class || c == Float.class) {
      return "number";
    }
    if (c.isEnum()) {
      return Arrays.stream(c.getEnumConstants())
          .map(e -> "`" + ((Enum<?>) e).name().toLowerCase(Locale.ROOT).replace('_', '-') + "`")
          .collect(Collectors.joining(", "));
    }
    return "text";
  }

  /** {@code maxSessions} to {@code max-sessions}, as SmallRye's default naming strategy does. */
  static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
  }
}
