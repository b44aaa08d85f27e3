package io.spillway.federation;

/**
 * An admin request that cannot be carried out: the HTTP status to answer with, the request field at
 * fault (null when none is), and a message naming the value and what would be accepted.
 */
public final class AdminException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int status;
  private final String field;

  public AdminException(int status, String field, String message) {
    super(message);
    this.status = status;
    this.field = field;
  }

  public static AdminException badRequest(String field, String message) {
    return new AdminException(400, field, message);
  }

  public int status() {
    return status;
  }

  public String field() {
    return field;
  }
}
