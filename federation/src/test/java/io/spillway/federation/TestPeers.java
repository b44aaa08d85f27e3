package io.spillway.federation;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.spillway.security.Caller;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import java.util.Locale;

/**
 * Stands in for the mutual-TLS interceptor in tests: sets {@link Caller#PEER} from the test header
 * {@code spillway-test-peer: <role>/<name>} ({@code none}: no peer), or to {@code defaultPeer} when the
 * call carries no such header (the gateways under test send none, and so are proven as that peer).
 */
final class TestPeers implements ServerInterceptor {

  static final Metadata.Key<String> HEADER = Metadata.Key.of("spillway-test-peer", Metadata.ASCII_STRING_MARSHALLER);

  private final PeerIdentity defaultPeer;

  TestPeers(PeerIdentity defaultPeer) {
    this.defaultPeer = defaultPeer;
  }

  static PeerIdentity edge(String name) {
    return new PeerIdentity(Role.EDGE, name, "edge/" + name);
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
      ServerCallHandler<Q, A> next) {
    String asked = headers.get(HEADER);
    PeerIdentity peer = defaultPeer;
    if (asked != null) {
      if (asked.equals("none")) {
        peer = null;
      } else {
        String[] parts = asked.split("/", 2);
        peer = new PeerIdentity(Role.valueOf(parts[0].toUpperCase(Locale.ROOT)), parts[1], "test");
      }
    }
    Context ctx = peer == null ? Context.current() : Context.current().withValue(Caller.PEER, peer);
    return Contexts.interceptCall(ctx, call, headers, next);
  }
}
