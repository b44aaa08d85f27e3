package io.spillway.topology;

import java.util.Comparator;

/**
 * One thing wrong with a topology file, located the way compilers do.
 *
 * @param file    the file name as given to the loader
 * @param line    1-based line
 * @param column  1-based column
 * @param path    the key in model terms, e.g. {@code edges[1].gpuServers[0].gpus[0].memory}; empty for a YAML
 *                syntax error
 * @param message what is wrong, with the value and what would be accepted
 */
public record Problem(String file, int line, int column, String path, String message) {

  /** File order: line, then column, then path. */
  public static final Comparator<Problem> IN_FILE_ORDER = Comparator.comparingInt(Problem::line)
      .thenComparingInt(Problem::column)
      .thenComparing(Problem::path);

  /** {@code province.yaml:14:9: edges[1].gpuServers[0].gpus[0].memory: "-32GiB" is not a size: ...} */
  @Override
  public String toString() {
    return file + ":" + line + ":" + column + ": " + (path.isEmpty() ? "" : path + ": ") + message;
  }
}
