package io.spillway.topology;

import java.util.List;

/**
 * A topology file that cannot be used, with every problem found in it, in file order. The message is the
 * problems, one per line, ready to print.
 */
public final class TopologyException extends Exception {
  private final List<Problem> problems;

  /** @param problems at least one */
  public TopologyException(List<Problem> problems) {
    super(format(problems));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("a TopologyException needs at least one problem");
    }
    this.problems = problems.stream().sorted(Problem.IN_FILE_ORDER).toList();
  }

  /** Never empty, sorted by line then column. */
  public List<Problem> problems() {
    return problems;
  }

  private static String format(List<Problem> problems) {
    List<String> lines = problems.stream().sorted(Problem.IN_FILE_ORDER).map(Problem::toString).toList();
    if (lines.size() == 1) {
      return lines.get(0);
    }
    return lines.size() + " problems in " + problems.get(0).file() + ":\n" + String.join("\n", lines);
  }
}
