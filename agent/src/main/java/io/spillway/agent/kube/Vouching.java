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
import java.util.function.Supplier;

/**
 * Puts the agent's credential and the tenant it vouches for on every call to the edge: {@code authorization:
 * Bearer <agent token>} when the agent has one, and {@code spillway-on-behalf-of: <tenant>} for the tenant set
 * in {@link #TENANT} of the context the call starts in. The edge honours the second only from a caller
 * allowed to vouch; pods never hold either.
 */
public final class Vouching implements ClientInterceptor {

  /** The tenant the calls started in this context are made for. */
  public static final Context.Key<String> TENANT = Context.key("spillway-vouched-tenant");

  private final Supplier<String> tokens;

  /** @param tokens the agent's token, asked at every call (so a rotated file is picked up); null for none */
  public Vouching(Supplier<String> tokens) {
    this.tokens = tokens;
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    String tenant = TENANT.get();
    String token = tokens == null ? null : tokens.get();
    if (token != null && (token.isBlank() || token.strip().chars().anyMatch(c -> c < 0x21 || c > 0x7e))) {
      throw new IllegalStateException("the agent's token is " + (token.isBlank() ? "empty" : "not printable ASCII"));
    }
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        if (token != null) {
          headers.put(Caller.AUTHORIZATION, "Bearer " + token.strip());
        }
        if (tenant != null) {
          headers.put(Caller.ON_BEHALF_OF, tenant);
        }
        super.start(listener, headers);
      }
    };
  }
}
