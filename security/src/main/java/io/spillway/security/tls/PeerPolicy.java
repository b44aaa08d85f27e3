package io.spillway.security.tls;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.spillway.security.Caller;
import io.spillway.security.PeerIdentity;
import java.util.Optional;
import java.util.function.Function;

/**
 * Refuses every call whose {@link Caller#PEER} (set by a {@link PeerCertificateInterceptor} before it)
 * is absent ({@code UNAUTHENTICATED}) or not allowed ({@code PERMISSION_DENIED}, saying why). For servers
 * only components call, such as a GPU node's session service, which only its pool's gateways may use.
 */
public final class PeerPolicy implements ServerInterceptor {
  private final String server;
  private final Function<PeerIdentity, Optional<String>> refusal;

  /**
   * @param server what this server is, for the messages ({@code GPU node gpu-3})
   * @param refusal why a peer may not call, or empty when it may
   */
  public PeerPolicy(String server, Function<PeerIdentity, Optional<String>> refusal) {
    this.server = server;
    this.refusal = refusal;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    PeerIdentity peer = Caller.PEER.get();
    if (peer == null) {
      call.close(Status.UNAUTHENTICATED.withDescription(server + " takes calls only from components that"
          + " present a certificate naming them (spillway://<role>/<name>); this connection presented none"),
          new Metadata());
      return new ServerCall.Listener<>() { };
    }
    Optional<String> why = refusal.apply(peer);
    if (why.isPresent()) {
      call.close(Status.PERMISSION_DENIED.withDescription(server + " refuses " + peer + ": " + why.get()),
          new Metadata());
      return new ServerCall.Listener<>() { };
    }
    return next.startCall(call, headers);
  }
}
