package io.spillway.agent.kube;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.spillway.security.Caller;
import java.util.Optional;

/**
 * Puts the agent's credential and the tenant it vouches for on every call to the edge: {@code authorization:
 * Bearer <agent token>} when the agent has one, and {@code spillway-on-behalf-of: <tenant>} for the tenant set
 * in {@link #TENANT} of the context the call starts in. The edge honours the second only from a caller
 * allowed to vouch; pods never hold either.
 */
public final class Vouching implements ClientInterceptor {

  /** The tenant the calls started in this context are made for. */
  public static final Context.Key<String> TENANT = Context.key("spillway-vouched-tenant");

  private final Optional<String> token;

  public Vouching(Optional<String> token) {
    this.token = token.map(String::strip).filter(t -> !t.isEmpty());
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    String tenant = TENANT.get();
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        token.ifPresent(t -> headers.put(Caller.AUTHORIZATION, "Bearer " + t));
        if (tenant != null) {
          headers.put(Caller.ON_BEHALF_OF, tenant);
        }
        super.start(listener, headers);
      }
    };
  }
}
