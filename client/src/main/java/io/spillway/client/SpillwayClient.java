package io.spillway.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.client.internal.RemoteGpuSession;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.tls.PeerCheck;
import io.spillway.security.tls.TlsContexts;
import io.spillway.security.tls.TlsFiles;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;

/**
 * Entry point of the SDK: a connection to a Spillway gateway (or directly to a GPU node) on which
 * sessions are opened. Thread-safe; one client serves any number of sessions on any threads.
 *
 * <pre>{@code
 * try (SpillwayClient client = SpillwayClient.connect("edge.example:7443");
 *      GpuSession gpu = client.open(SliceRequest.builder().tenant("search").memoryBytes(1L << 30).build())) {
 *     Module module = gpu.loadModule(ptx, "scale.ptx");
 *     DeviceBuffer x = gpu.alloc(4L * n);
 *     gpu.upload(x, input);
 *     gpu.launch(module, "scale", Dim3.of(blocks), Dim3.of(256), KernelArg.ptr(x), KernelArg.i32(n));
 *     float[] y = gpu.downloadFloats(x, n);
 * }
 * }</pre>
 *
 * <p>A gateway that requires credentials needs the tenant's token on every call:
 * {@code SpillwayClient.connect(target).token(System.getenv("SPILLWAY_TOKEN"))}, or
 * {@link #token(Supplier)} for a token that is renewed while the client lives.
 */
public final class SpillwayClient implements AutoCloseable {

  /** Received messages are at most this large: a read answer of one chunk with room to spare. */
  static final int MAX_INBOUND_MESSAGE_BYTES = 64 << 20;
  /** HTTP/2 window per stream: enough to keep bulk reads flowing across a WAN link to the center. */
  static final int FLOW_CONTROL_WINDOW_BYTES = 16 << 20;

  /**
   * How long the SDK waits for the server.
   *
   * @param openTimeout  for the answer to an open (placement may queue behind other sessions)
   * @param replyTimeout for the answer to a read or synchronize, and for the transport to accept more
   *                     data when the server applies back-pressure; covers the GPU work queued before
   *                     the call, so it should exceed the longest expected kernel sequence
   * @param closeTimeout for the server to confirm a close and end the stream
   */
  public record Options(Duration openTimeout, Duration replyTimeout, Duration closeTimeout) {
    public Options {
      requirePositive("openTimeout", openTimeout);
      requirePositive("replyTimeout", replyTimeout);
      requirePositive("closeTimeout", closeTimeout);
    }

    /** 30 s to open, 10 min for a reply, 30 s to close. */
    public static Options defaults() {
      return new Options(Duration.ofSeconds(30), Duration.ofMinutes(10), Duration.ofSeconds(30));
    }

    public Options withOpenTimeout(Duration openTimeout) {
      return new Options(openTimeout, replyTimeout, closeTimeout);
    }

    public Options withReplyTimeout(Duration replyTimeout) {
      return new Options(openTimeout, replyTimeout, closeTimeout);
    }

    public Options withCloseTimeout(Duration closeTimeout) {
      return new Options(openTimeout, replyTimeout, closeTimeout);
    }

    private static void requirePositive(String field, Duration d) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(field + "=" + d + " is invalid: expected a positive duration");
      }
    }
  }

  private final ManagedChannel channel;
  private final boolean ownsChannel;
  private final Options options;
  private volatile boolean closed;
  private volatile Consumer<? super SessionNotice> noticeListener = notice -> { };
  private volatile Supplier<String> token;
  private volatile String onBehalfOf;

  /** Call metadata a gateway reads the credential from (the same names as the gateway's). */
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> ON_BEHALF_OF =
      Metadata.Key.of("spillway-on-behalf-of", Metadata.ASCII_STRING_MARSHALLER);

  private SpillwayClient(ManagedChannel channel, boolean ownsChannel, Options options) {
    this.channel = Objects.requireNonNull(channel, "channel");
    this.ownsChannel = ownsChannel;
    this.options = Objects.requireNonNull(options, "options");
  }

  /** Connects to {@code host:port} in plaintext with {@link Options#defaults()}. */
  public static SpillwayClient connect(String target) {
    return connect(target, Options.defaults());
  }

  /** Connects to {@code host:port} in plaintext. The channel connects lazily, at the first open. */
  public static SpillwayClient connect(String target, Options options) {
    return builder(target).options(options).build();
  }

  /** A client of {@code host:port}, in plaintext unless {@link Builder#trustedCa} is given. */
  public static Builder builder(String target) {
    if (target == null || target.isBlank()) {
      throw new IllegalArgumentException("target=" + target + " is invalid: expected host:port");
    }
    return new Builder(target);
  }

  /** How to connect: timeouts, and TLS to the gateway. */
  public static final class Builder {
    private final String target;
    private Options options = Options.defaults();
    private Path trustedCa;
    private Path certificate;
    private Path key;
    /** The roles a server's certificate may name; empty: any certificate the CA signed. */
    private Set<Role> serverRoles = EnumSet.of(Role.EDGE, Role.CENTER);

    private Builder(String target) {
      this.target = target;
    }

    public Builder options(Options options) {
      this.options = Objects.requireNonNull(options, "options");
      return this;
    }

    /**
     * Connects with TLS, trusting the gateway's certificate if {@code caPem} (PEM) signed it and it names
     * the host of the target. The file is read again when it changes.
     */
    public Builder trustedCa(Path caPem) {
      this.trustedCa = Objects.requireNonNull(caPem, "caPem");
      return this;
    }

    /**
     * Presents a client certificate (PEM chain, PKCS#8 PEM key, EC or RSA) in the TLS handshake, as an
     * agent does with its machine's certificate; needs {@link #trustedCa}. Read again when they change.
     */
    public Builder clientCertificate(Path certPem, Path keyPem) {
      this.certificate = Objects.requireNonNull(certPem, "certPem");
      this.key = Objects.requireNonNull(keyPem, "keyPem");
      return this;
    }

    /**
     * With TLS, the server must prove one of {@code roles} in its certificate (its
     * {@code spillway://<role>/...} URI, docs/security.md), checked in the handshake before anything is
     * sent. The default is a gateway, {@link Role#EDGE} or {@link Role#CENTER}: the deployment's CA also
     * signs its GPU nodes' and agents' certificates, and a client must not hand a tenant's token and work
     * to one of them (a machine that took over the gateway's address, say). Name {@link Role#NODE} to
     * open sessions on a GPU node directly, or {@link Role#AGENT} for a machine's agent.
     */
    public Builder serverRoles(Role role, Role... more) {
      this.serverRoles = EnumSet.of(Objects.requireNonNull(role, "role"), more);
      return this;
    }

    /**
     * With TLS, accepts any server whose certificate the CA signed for the host dialed, whatever its
     * certificate names, or a certificate that names no Spillway component: for a gateway behind a
     * proxy that terminates TLS with a certificate of its own.
     */
    public Builder anyServerRole() {
      this.serverRoles = EnumSet.noneOf(Role.class);
      return this;
    }

    /**
     * The client; its channel connects lazily, at the first open. With TLS, a server that is not of the
     * expected role ({@link #serverRoles}) fails the handshake: opens fail with {@code UNAVAILABLE}
     * saying what the server's certificate names and what was expected.
     *
     * @throws IllegalArgumentException when a file cannot be read or used, naming it
     */
    public SpillwayClient build() {
      NettyChannelBuilder b = NettyChannelBuilder.forTarget(target);
      if (trustedCa == null) {
        if (certificate != null) {
          throw new IllegalArgumentException("clientCertificate(" + certificate + ", " + key
              + ") needs trustedCa(...): a client certificate is presented over TLS only");
        }
        b.usePlaintext();
      } else {
        TlsContexts tls = certificate == null ? TlsContexts.trusting(trustedCa)
            : TlsContexts.of(new TlsFiles(certificate, key, trustedCa));
        b.sslContext(tls.client(serverRoles.isEmpty() ? PeerCheck.ANY : roleCheck(Set.copyOf(serverRoles))));
      }
      return new SpillwayClient(channel(b), true, options);
    }

    private static PeerCheck roleCheck(Set<Role> roles) {
      String expected = String.join(" or ", roles.stream().sorted().map(Role::uriName).toList());
      return (host, port, peer) -> {
        if (peer.isEmpty()) {
          return Optional.of("its certificate names no Spillway component (no spillway:// URI); expected "
              + expected + " (SpillwayClient.Builder.serverRoles, anyServerRole)");
        }
        PeerIdentity id = peer.get();
        return roles.contains(id.role()) ? Optional.empty() : Optional.of("its certificate names " + id
            + ", but the client expects " + expected + " (SpillwayClient.Builder.serverRoles names the roles expected)");
      };
    }
  }

  private static ManagedChannel channel(NettyChannelBuilder b) {
    return b
        // Reply handling only hands results over to the waiting caller; it never blocks, so it
        // runs on the event loop and saves a thread hop per frame.
        .directExecutor()
        .flowControlWindow(FLOW_CONTROL_WINDOW_BYTES)
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .build();
  }

  /** Uses a channel the caller built and keeps owning: {@link #close()} leaves it open. */
  public static SpillwayClient forChannel(ManagedChannel channel) {
    return forChannel(channel, Options.defaults());
  }

  public static SpillwayClient forChannel(ManagedChannel channel, Options options) {
    return new SpillwayClient(channel, false, options);
  }

  /**
   * Opens a session: sends the slice request and blocks until the server has placed it (at most
   * {@link Options#openTimeout()}).
   *
   * @throws SpillwayException with the server's code, for example {@code RESOURCE_EXHAUSTED} when no
   *                           slice fits, or {@code UNAVAILABLE} when the server cannot be reached
   */
  public GpuSession open(SliceRequest request) {
    Objects.requireNonNull(request, "request");
    if (closed) {
      throw new IllegalStateException("SpillwayClient is closed");
    }
    return RemoteGpuSession.open(credentialed(), request, options, notice -> noticeListener.accept(notice));
  }

  /**
   * Sends {@code token} as {@code authorization: Bearer <token>} on every session opened from now on.
   * Send it only over TLS: anyone who reads it can act as its tenant until it expires.
   *
   * @return this client
   */
  public SpillwayClient token(String token) {
    requireToken(token);
    return token(() -> token);
  }

  /**
   * Asks {@code tokens} for the token at every open (a file an operator rotates, a token renewed
   * before it expires). It runs on the opening thread and must return a non-blank token.
   *
   * @return this client
   */
  public SpillwayClient token(Supplier<String> tokens) {
    this.token = Objects.requireNonNull(tokens, "tokens");
    return this;
  }

  /**
   * For an agent, whose own token (role {@code spillway-agent}) vouches for the tenant of the processes
   * it serves: every session opened from now on says {@code spillway-on-behalf-of: <tenant>}.
   *
   * @return this client
   */
  public SpillwayClient onBehalfOf(String tenant) {
    if (tenant == null || tenant.isBlank()) {
      throw new IllegalArgumentException("onBehalfOf=" + tenant + " is invalid: expected a tenant name");
    }
    this.onBehalfOf = tenant;
    return this;
  }

  /**
   * A failed TLS handshake reaches a call as {@code UNAVAILABLE: io exception}, its reason only in the
   * status's cause, which is not shown: this says it in the description instead (the server's role
   * refused, a certificate the CA did not sign, an expired one), so that the failed open does.
   */
  private static final ClientInterceptor TLS_FAILURES = new ClientInterceptor() {
    @Override
    public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions callOptions,
        Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, callOptions)) {
        @Override
        public void start(Listener<A> listener, Metadata headers) {
          super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
            @Override
            public void onClose(Status status, Metadata trailers) {
              super.onClose(explainTls(status), trailers);
            }
          }, headers);
        }
      };
    }
  };

  static Status explainTls(Status status) {
    if (status.getCode() != Status.Code.UNAVAILABLE || status.getCause() == null) {
      return status;
    }
    String why = null;
    for (Throwable t = status.getCause(); t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof CertificateException) {
        why = t.getMessage();
        break;
      }
      if (t instanceof SSLException && why == null) {
        why = t.getMessage();
      }
    }
    return why == null ? status
        : Status.UNAVAILABLE.withDescription("TLS handshake failed: " + why).withCause(status.getCause());
  }

  private Channel credentialed() {
    Supplier<String> tokens = token;
    String tenant = onBehalfOf;
    Channel channel = ClientInterceptors.intercept(this.channel, TLS_FAILURES);
    if (tokens == null && tenant == null) {
      return channel;
    }
    String bearer = tokens == null ? null : "Bearer " + requireToken(tokens.get());
    return ClientInterceptors.intercept(channel, new ClientInterceptor() {
      @Override
      public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions callOptions,
          Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, callOptions)) {
          @Override
          public void start(Listener<A> listener, Metadata headers) {
            if (bearer != null) {
              headers.put(AUTHORIZATION, bearer);
            }
            if (tenant != null) {
              headers.put(ON_BEHALF_OF, tenant);
            }
            super.start(listener, headers);
          }
        };
      }
    });
  }

  private static String requireToken(String token) {
    if (token == null || token.isBlank() || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      throw new IllegalArgumentException("the token is " + (token == null || token.isBlank() ? "empty"
          : "not printable ASCII") + "; expected a compact JWT (spillway token issue prints one)");
    }
    return token.strip();
  }

  /**
   * Hands every notice to the sessions of this client, from now on and opened before or after, to
   * {@code listener} (replacing the previous one); without one, notices are only logged at DEBUG. The
   * listener runs on gRPC's threads, one notice at a time per session: it must not block or throw.
   *
   * @return this client
   */
  public SpillwayClient onNotice(Consumer<? super SessionNotice> listener) {
    this.noticeListener = Objects.requireNonNull(listener, "listener");
    return this;
  }

  /**
   * Shuts the channel down if this client created it (waiting up to 5 s for calls to end, then cancelling
   * them). Sessions still open then fail with {@code UNAVAILABLE} or {@code CANCELLED}; close them first.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (!ownsChannel) {
      return;
    }
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
