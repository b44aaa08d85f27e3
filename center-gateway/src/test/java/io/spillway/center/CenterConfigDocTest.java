package io.spillway.center;

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
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The "Center gateway" table of docs/configuration.md lists exactly the keys {@link CenterConfig} declares,
 * with their defaults. Keys are derived from the mapping as SmallRye derives them: method names in
 * kebab-case, groups as path segments, a map of groups as one quoted segment ({@code "<tenant>"}).
 */
class CenterConfigDocTest {

  private static final Path DOC = Path.of("..", "docs", "configuration.md");
  private static final String ANY_KEY = "\"<*>\"";

  @Test
  void everyDeclaredKeyIsDocumentedWithItsDefaultAndNothingElseIs() throws IOException {
    Map<String, String> declared = new TreeMap<>();
    String prefix = CenterConfig.class.getAnnotation(ConfigMapping.class).prefix();
    walk(CenterConfig.class, prefix, declared);
    Map<String, String> documented = documentedKeys();

    assertFalse(declared.isEmpty(), "the mapping declares keys");
    assertEquals(declared.keySet(), documented.keySet(),
        "keys declared in CenterConfig (left) and listed under '## Center gateway' in " + DOC + " (right)");
    declared.forEach((key, dflt) -> {
      if (dflt != null) {
        assertEquals("`" + dflt + "`", documented.get(key), "documented default of " + key);
      }
    });
  }

  /** Leaf keys under {@code prefix}, each with its {@code @WithDefault} value or null. */
  private static void walk(Class<?> group, String prefix, Map<String, String> out) {
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
        walk((Class<?>) value, key + "." + ANY_KEY, out);
      } else if (type.isInterface() && type.getEnclosingClass() == CenterConfig.class) {
        walk(type, key, out);
      } else {
        WithDefault dflt = m.getAnnotation(WithDefault.class);
        out.put(key, dflt == null ? null : dflt.value());
      }
    }
  }

  private static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
  }

  /** Key to default cell of every table row of the section that names a {@code spillway.center} key. */
  private static Map<String, String> documentedKeys() throws IOException {
    String text = Files.readString(DOC);
    int start = text.indexOf("\n## Center gateway\n");
    assertFalse(start < 0, DOC + " has a '## Center gateway' section");
    int end = text.indexOf("\n## ", start + 1);
    String section = text.substring(start, end < 0 ? text.length() : end);
    Map<String, String> keys = new LinkedHashMap<>();
    for (String line : section.split("\n")) {
      if (!line.startsWith("| `spillway.center.")) {
        continue;
      }
      String[] cells = line.split("\\|");
      String key = cells[1].trim().replace("`", "").replaceAll("\"<[^>]+>\"", ANY_KEY);
      keys.put(key, cells[3].trim());
    }
    return keys;
  }
}
