package io.spillway.config.reference;

/** One setting as the page lists it; every cell is Markdown. */
record Row(String key, String type, String defaultCell, String meaning) {

  String markdown() {
    return "| `" + key + "` | " + cell(type) + " | " + cell(defaultCell) + " | " + cell(meaning) + " |";
  }

  /** A table cell: no line breaks, and a pipe does not end it. */
  private static String cell(String text) {
    return text.replace("\n", " ").replace("|", "\\|").strip();
  }
}
