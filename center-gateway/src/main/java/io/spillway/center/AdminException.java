package io.spillway.center;

/**
 * An admin request that cannot be carried out: the HTTP status to answer with, the request field at
 * fault (null when none is), and a message naming the value and what would be accepted.
 */
final class AdminException extends RuntimeException {
  private final int status;
  private final String field;

  AdminException(int status, String field, String message) {
    super(message);
    this.status = status;
    this.field = field;
  }

  static AdminException badRequest(String field, String message) {
    return new AdminException(400, field, message);
  }

  int status() {
    return status;
  }

  String field() {
    return field;
  }
}
