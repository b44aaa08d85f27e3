package io.spillway.node.session;

import io.grpc.Status;

/**
 * An op failed. The description goes on the wire as is, so it names the op, its sequence number and
 * the offending value; {@code fatal} ends the session (a faulted context cannot be trusted).
 */
public final class OpException extends Exception {
  private final Status.Code code;
  private final boolean fatal;

  public OpException(Status.Code code, String description) {
    this(code, description, false);
  }

  public OpException(Status.Code code, String description, boolean fatal) {
    super(description, null, false, false);
    this.code = code;
    this.fatal = fatal;
  }

  public Status.Code code() {
    return code;
  }

  public boolean fatal() {
    return fatal;
  }
}
