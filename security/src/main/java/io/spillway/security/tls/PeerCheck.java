package io.spillway.security.tls;

import io.spillway.security.PeerIdentity;
import java.util.Optional;

/**
 * What a client expects of the server it dialed, checked during the handshake (after the CA and the
 * host name), before any request is sent. A connection to a server that fails it is closed.
 */
@FunctionalInterface
public interface PeerCheck {

  /** Accepts any server the CA vouches for whose certificate matches the host dialed. */
  PeerCheck ANY = (host, port, peer) -> Optional.empty();

  /**
   * @param host the host dialed
   * @param port the port dialed
   * @param peer what the server's certificate names, or empty when it names no Spillway component
   * @return why the server is refused, or empty to accept it
   */
  Optional<String> refuse(String host, int port, Optional<PeerIdentity> peer);
}
