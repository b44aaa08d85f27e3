package io.spillway.node.driver;

/**
 * A device operation failed. {@link #kind()} says how the session layer reports it: the node turns it
 * into a gRPC status on the wire, with this exception's message as the description.
 */
public class DriverException extends Exception {

  /** What went wrong, in terms that map onto gRPC status codes. */
  public enum Kind {
    /** Device memory exhausted ({@code RESOURCE_EXHAUSTED}). */
    OUT_OF_MEMORY,
    /** The request is wrong: bad image, unknown function, bad launch shape ({@code INVALID_ARGUMENT}). */
    INVALID,
    /** A function the module declares has no implementation on this driver ({@code UNIMPLEMENTED}). */
    UNIMPLEMENTED,
    /** A kernel faulted; the context is unusable ({@code FAILED_PRECONDITION}, fatal to the session). */
    KERNEL_FAULT,
    /** The device or driver failed ({@code UNAVAILABLE}, or {@code INTERNAL}). */
    DEVICE
  }

  private final Kind kind;

  public DriverException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public DriverException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
