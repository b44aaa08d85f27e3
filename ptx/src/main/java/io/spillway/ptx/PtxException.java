package io.spillway.ptx;

/**
 * A PTX module cannot be loaded: it does not parse, or it uses something the executor does not
 * support. The message names what, where (the PTX line) and, for code, the function.
 */
public final class PtxException extends Exception {

  private final int line;
  private final boolean unsupported;

  public PtxException(int line, String message) {
    this(line, message, false);
  }

  /** {@code unsupported}: the PTX is valid but uses something the executor does not implement. */
  public PtxException(int line, String message, boolean unsupported) {
    super(line > 0 ? "PTX line " + line + ": " + message : message);
    this.line = line;
    this.unsupported = unsupported;
  }

  /** Whether the module is valid PTX that uses something the executor does not implement. */
  public boolean unsupported() {
    return unsupported;
  }

  /** The 1-based PTX line the error is about, or 0 when it is about the module as a whole. */
  public int line() {
    return line;
  }
}
