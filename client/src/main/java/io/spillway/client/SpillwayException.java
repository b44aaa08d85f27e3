package io.spillway.client;

import io.grpc.Status;

/**
 * A failed operation or a failed session.
 *
 * <p>For a failed operation, {@link #seq()} and {@link #op()} name the operation and {@link #code()} is the
 * status the server reported, for example {@code INVALID_ARGUMENT} for an out-of-bounds write. Errors of
 * pipelined operations surface at the next synchronizing call, so the operation named here may be
 * earlier than the call that threw; further errors reported before that call are attached as
 * {@linkplain #getSuppressed() suppressed} exceptions. The session goes on after such an error.
 *
 * <p>When the session itself failed (the stream broke, the server reported a fatal error, a wait timed out
 * or was interrupted), every later call throws with the session's status, for example {@code UNAVAILABLE}:
 * open a new session, possibly elsewhere.
 */
public class SpillwayException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final Status.Code code;
  private final long seq;
  private final String op;
  private final String description;

  public SpillwayException(Status.Code code, long seq, String op, String description) {
    this(code, seq, op, description, null);
  }

  public SpillwayException(Status.Code code, long seq, String op, String description, Throwable cause) {
    super(message(code, seq, op, description), cause);
    this.code = code;
    this.seq = seq;
    this.op = op;
    this.description = description;
  }

  private static String message(Status.Code code, long seq, String op, String description) {
    String where = seq > 0 ? " (" + op + ", seq " + seq + ")" : " (" + op + ")";
    return code + ": " + description + where;
  }

  /** The gRPC status code: of the failed operation, or of the session once it failed. */
  public Status.Code code() {
    return code;
  }

  /** The sequence number of the failed operation; 0 when the failure belongs to no single operation. */
  public long seq() {
    return seq;
  }

  /** The failed operation's kind ({@code "write"}, {@code "launch"}, ...) or {@code "session"}. */
  public String op() {
    return op;
  }

  /** The description without code and operation. */
  public String description() {
    return description;
  }
}
