package io.spillway.topology;

import io.spillway.topology.internal.ModelKeys;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code docs/topology.md} documents every key of the model, and only those, with the model's default. A key row
 * is a row of a table headed {@code | key | type | default | meaning |}, whose first cell is the key's path in
 * backquotes ({@code `edges[].spill.mode`}) and whose default cell is {@code required}, {@code —} or the default
 * in backquotes.
 */
class TopologyDocTest {
  private static final Path DOC = Path.of("..", "docs", "topology.md");
  private static final String HEADER = "| key | type | default | meaning |";

  @Test
  void everyKeyIsDocumentedWithItsDefault() throws Exception {
    Map<String, String> documented = keyRows(Files.readAllLines(DOC));
    List<String> paths = ModelKeys.paths(Topology.class);
    List<String> drift = new ArrayList<>();
    for (String path : paths) {
      if (!documented.containsKey(path)) {
        drift.add("`" + path + "` is a key of the model but has no row in " + DOC);
      }
    }
    for (Map.Entry<String, String> row : documented.entrySet()) {
      if (!paths.contains(row.getKey())) {
        drift.add("`" + row.getKey() + "` is documented but is not a key of the model");
        continue;
      }
      ModelKeys.Key key = ModelKeys.keyAt(Topology.class, row.getKey());
      String expected = key.required() ? "required" : key.defaultValue() == null ? "—" : "`" + key.defaultValue() + "`";
      if (!expected.equals(row.getValue())) {
        drift.add("`" + row.getKey() + "` is documented with default " + row.getValue() + ", the model says " + expected);
      }
    }
    assertEquals(List.of(), drift, String.join("\n", drift));
    assertTrue(documented.size() > 40, "found the key tables");
  }

  /** Path → default cell, for each row of each key table. */
  private static Map<String, String> keyRows(List<String> lines) {
    Map<String, String> rows = new LinkedHashMap<>();
    boolean inTable = false;
    for (String line : lines) {
      if (line.trim().equals(HEADER)) {
        inTable = true;
      } else if (!line.startsWith("|")) {
        inTable = false;
      } else if (inTable && line.startsWith("| `")) {
        // Cells are split on pipes not escaped as \| (enum types list their labels that way).
        String[] cells = line.split("(?<!\\\\)\\|");
        String path = cells[1].trim().replace("`", "");
        if (rows.put(path, cells[3].trim()) != null) {
          throw new AssertionError("`" + path + "` is documented twice");
        }
      }
    }
    return rows;
  }
}
