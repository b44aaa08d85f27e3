package io.spillway.security.tls;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.spillway.security.Caller;
import io.spillway.security.PeerIdentity;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Puts the component that connected into each call's context as {@link Caller#PEER}: the one its
 * client certificate names (see {@link SpillwayUri}). The handshake has already verified the certificate
 * against the trusted CA; a connection in plaintext, without a client certificate, or with a certificate
 * that names no component (logged once per certificate) gets no PEER, and the services decide what such a
 * caller may do. Install it first, so that the interceptors after it can read the peer.
 */
public final class PeerCertificateInterceptor implements ServerInterceptor {
  private static final Logger LOG = Logger.getLogger(PeerCertificateInterceptor.class.getName());
  /** Certificates already logged as naming no component; bounded, so that a flood of them cannot grow it. */
  private static final int MAX_LOGGED = 1024;

  private final Set<String> logged = ConcurrentHashMap.newKeySet();

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    Optional<PeerIdentity> peer = peer(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (peer.isEmpty()) {
      return next.startCall(call, headers);
    }
    return Contexts.interceptCall(Context.current().withValue(Caller.PEER, peer.get()), call, headers, next);
  }

  /** What the verified client certificate of {@code session} names; empty in plaintext or without one. */
  Optional<PeerIdentity> peer(SSLSession session) {
    if (session == null) {
      return Optional.empty();
    }
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException noCertificate) {
      return Optional.empty();
    }
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      return Optional.empty();
    }
    try {
      return Optional.of(PeerCertificates.identity(leaf));
    } catch (PeerCertificates.NoIdentity e) {
      String key = leaf.getIssuerX500Principal() + "#" + leaf.getSerialNumber();
      if (logged.size() < MAX_LOGGED && logged.add(key)) {
        LOG.warning(() -> "a client connected with a certificate the CA signed but that names no Spillway"
            + " component; its calls carry no peer identity: " + e.getMessage());
      }
      return Optional.empty();
    }
  }
}
