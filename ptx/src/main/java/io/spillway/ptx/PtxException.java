package io.spillway.ptx;

/**
 * A PTX module cannot be loaded: it does not parse, or it uses something the executor does not
 * support. The message names what, where (the PTX line) and, for code, the function.
 */
public final class PtxException extends Exception {

  private final int line;

  public PtxException(int line, String message) {
    super(line > 0 ? "PTX line " + line + ": " + message : message);
    this.line = line;
  }

  /** The 1-based PTX line the error is about, or 0 when it is about the module as a whole. */
  public int line() {
    return line;
  }
}
