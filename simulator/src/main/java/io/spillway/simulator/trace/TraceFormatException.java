package io.spillway.simulator.trace;

/**
 * A trace file that cannot be read. The message has the compiler shape
 * {@code file:line:column: column-name: what is wrong; what is accepted}, with line and column 1-based
 * (the column is the character where the offending field starts).
 */
public final class TraceFormatException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String file;
  private final int line;
  private final int column;

  public TraceFormatException(String file, int line, int column, String message) {
    super(file + ":" + line + ":" + column + ": " + message);
    this.file = file;
    this.line = line;
    this.column = column;
  }

  public String file() {
    return file;
  }

  /** 1-based line of the file. */
  public int line() {
    return line;
  }

  /** 1-based character column where the offending field starts. */
  public int column() {
    return column;
  }
}
