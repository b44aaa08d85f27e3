package io.spillway.protocol;

import io.grpc.Status;
import io.spillway.protocol.v1.Open;

/**
 * Facts of the session protocol that every hop must apply alike. A gateway checks the version itself,
 * before it places the session or borrows a lease for it, so that a bad open costs nothing anywhere and
 * is refused with the status a node would send.
 */
public final class SessionProtocol {

  /** The newest version this release speaks, at every hop; every hop also accepts each older one. */
  public static final int VERSION = 2;

  private SessionProtocol() {}

  /**
   * The refusal of an open whose version is not one of 1 to {@link #VERSION}, or null when it is.
   *
   * @param what the op as errors name it, for example {@code "open (seq 1)"}
   * @param speaker who refuses, for example {@code "this node"}
   */
  public static Status unsupportedVersion(String what, Open open, String speaker) {
    if (open.getProtocolVersion() >= 1 && open.getProtocolVersion() <= VERSION) {
      return null;
    }
    return Status.FAILED_PRECONDITION.withDescription(what + ": protocol version "
        + Integer.toUnsignedString(open.getProtocolVersion()) + " is not supported; " + speaker + " speaks 1.."
        + VERSION);
  }
}
