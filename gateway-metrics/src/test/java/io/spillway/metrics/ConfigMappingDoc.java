package io.spillway.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Checks that a section of docs/configuration.md lists exactly the keys a {@code @ConfigMapping}
 * declares, with their defaults; shared by the gateway apps' tests. Keys are derived from the mapping as
 * SmallRye derives them: method names in kebab-case, groups as path segments, a map of groups as one
 * quoted segment ({@code "<tenant>"}).
 */
public final class ConfigMappingDoc {

  private static final Path DOC = Path.of("..", "docs", "configuration.md");
  private static final String ANY_KEY = "\"<*>\"";

  private ConfigMappingDoc() {}

  /** Asserts that the {@code ## section} of the configuration page documents {@code mapping} exactly. */
  public static void assertDocuments(Class<?> mapping, String section) throws IOException {
    Map<String, String> declared = new TreeMap<>();
    String prefix = mapping.getAnnotation(ConfigMapping.class).prefix();
    walk(mapping, mapping, prefix, declared);
    Map<String, String> documented = documentedKeys(section, prefix);

    assertFalse(declared.isEmpty(), "the mapping declares keys");
    assertEquals(declared.keySet(), documented.keySet(), "keys declared in " + mapping.getSimpleName()
        + " (left) and listed under '## " + section + "' in " + DOC + " (right)");
    declared.forEach((key, dflt) -> {
      if (dflt != null) {
        assertEquals("`" + dflt + "`", documented.get(key), "documented default of " + key);
      }
    });
  }

  /** Leaf keys under {@code prefix}, each with its {@code @WithDefault} value or null. */
  private static void walk(Class<?> mapping, Class<?> group, String prefix, Map<String, String> out) {
    Method[] methods = group.getDeclaredMethods();
    Arrays.sort(methods, Comparator.comparing(Method::getName));
    for (Method m : methods) {
      if (m.isDefault() || Modifier.isStatic(m.getModifiers()) || m.isSynthetic()) {
        continue;
      }
      String key = prefix + "." + kebab(m.getName());
      Class<?> type = m.getReturnType();
      if (Map.class.isAssignableFrom(type)) {
        var value = ((ParameterizedType) m.getGenericReturnType()).getActualTypeArguments()[1];
        walk(mapping, (Class<?>) value, key + "." + ANY_KEY, out);
      } else if (type.isInterface() && type.getEnclosingClass() == mapping) {
        walk(mapping, type, key, out);
      } else {
        WithDefault dflt = m.getAnnotation(WithDefault.class);
        out.put(key, dflt == null ? null : dflt.value());
      }
    }
  }

  private static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
  }

  /** Key to default cell of every table row of the section that names a key under {@code prefix}. */
  private static Map<String, String> documentedKeys(String section, String prefix) throws IOException {
    String text = Files.readString(DOC);
    int start = text.indexOf("\n## " + section + "\n");
    assertFalse(start < 0, DOC + " has a '## " + section + "' section");
    int end = text.indexOf("\n## ", start + 1);
    String body = text.substring(start, end < 0 ? text.length() : end);
    Map<String, String> keys = new LinkedHashMap<>();
    for (String line : body.split("\n")) {
      if (!line.startsWith("| `" + prefix + ".")) {
        continue;
      }
      String[] cells = line.split("\\|");
      String key = cells[1].trim().replace("`", "").replaceAll("\"<[^>]+>\"", ANY_KEY);
      keys.put(key, cells[3].trim());
    }
    return keys;
  }
}
