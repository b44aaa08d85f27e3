package io.spillway.security.tls;

import io.grpc.netty.GrpcSslContexts;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolNegotiator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.spillway.security.PeerIdentity;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A source of Netty {@link SslContext}s for one component's {@link TlsFiles} that follows the files
 * when they change, as cert-manager rotates them (it replaces the files, or the symlink of the Secret
 * volume): each new connection (each handshake) looks at the files, at most once per check interval,
 * and a change is parsed and used from that connection on. Connections already open keep the
 * certificate they were made with. Files caught half-written (a key that does not match the
 * certificate, a truncated PEM) are logged and the previous material stays in use until a later look
 * finds them whole.
 *
 * <p>Threads: any. The look at the files runs on the thread that opens the connection (a Netty event
 * loop), at most once per interval; it reads three small files.
 */
public final class TlsContexts {
  private static final Logger LOG = Logger.getLogger(TlsContexts.class.getName());

  /** How often, at most, the files are looked at again. */
  public static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(1);

  private final Path cert;
  private final Path key;
  private final Path trustedCa;
  private final InstantSource clock;
  private final Duration checkInterval;
  private final Object lock = new Object();
  private volatile TlsMaterial material;
  private volatile Instant lastCheck;
  /** The bytes of the last change that did not parse, so that it is logged once. */
  private List<byte[]> lastBad;

  private TlsContexts(Path cert, Path key, Path trustedCa, InstantSource clock, Duration checkInterval)
      throws IOException, GeneralSecurityException {
    this.cert = cert;
    this.key = key;
    this.trustedCa = Objects.requireNonNull(trustedCa, "trustedCa");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.checkInterval = Objects.requireNonNull(checkInterval, "checkInterval");
    this.material = TlsMaterial.read(cert, key, trustedCa);
    this.lastCheck = clock.instant();
  }

  /**
   * Reads {@code files} now (so that bad files fail the start) and follows them from then on.
   *
   * @throws IllegalArgumentException naming the file and what is wrong with it
   */
  public static TlsContexts of(TlsFiles files) {
    return of(files, InstantSource.system(), DEFAULT_CHECK_INTERVAL);
  }

  /** {@link #of(TlsFiles)} with the clock that paces the looks at the files. */
  public static TlsContexts of(TlsFiles files, InstantSource clock, Duration checkInterval) {
    return load(files.cert(), files.key(), files.trustedCa(), clock, checkInterval);
  }

  /** For a client that presents no certificate and only checks the server's against {@code trustedCa}. */
  public static TlsContexts trusting(Path trustedCa) {
    return load(null, null, trustedCa, InstantSource.system(), DEFAULT_CHECK_INTERVAL);
  }

  private static TlsContexts load(Path cert, Path key, Path ca, InstantSource clock, Duration interval) {
    try {
      return new TlsContexts(cert, key, ca, clock, interval);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("TLS files cannot be used: " + e.getMessage(), e);
    }
  }

  /** The certificate this component presents now (the leaf), or null when it presents none. */
  public X509Certificate certificate() {
    TlsMaterial m = current();
    return m.chain() == null ? null : m.chain()[0];
  }

  /**
   * A server context: presents this component's certificate and verifies clients' against the trusted
   * CA. {@link ClientAuth#REQUIRE} refuses a handshake without a client certificate; {@link
   * ClientAuth#OPTIONAL} lets one through (a tenant with a token only), but still refuses a certificate
   * the CA did not sign.
   */
  public SslContext server(ClientAuth clientAuth) {
    if (material.chain() == null) {
      throw new IllegalStateException("a server needs a certificate and key; only a CA was given");
    }
    return new Reloading(false, m -> {
      SslContextBuilder b = SslContextBuilder.forServer(m.key(), m.chain()).trustManager(m.trusted())
          .clientAuth(clientAuth);
      return GrpcSslContexts.configure(b, TlsProvider.provider()).build();
    });
  }

  /**
   * A client context: presents this component's certificate (if it has one), verifies the server's
   * against the trusted CA and the host dialed (gRPC checks the host name), then asks {@code check}.
   */
  public SslContext client(PeerCheck check) {
    Objects.requireNonNull(check, "check");
    return new Reloading(true, m -> {
      SslContextBuilder b = SslContextBuilder.forClient().trustManager(new CheckingTrustManager(m.trusted(), check));
      if (m.chain() != null) {
        b.keyManager(m.key(), m.chain());
      }
      return GrpcSslContexts.configure(b, TlsProvider.provider()).build();
    });
  }

  /** The material to build the next connection's context from: looks at the files if it is time. */
  private TlsMaterial current() {
    Instant now = clock.instant();
    if (Duration.between(lastCheck, now).compareTo(checkInterval) < 0) {
      return material;
    }
    synchronized (lock) {
      if (Duration.between(lastCheck, now).compareTo(checkInterval) >= 0) {
        lastCheck = now;
        reloadIfChanged();
      }
      return material;
    }
  }

  /** Looks at the files now, whatever the interval, and uses them if they changed and parse. */
  public void checkNow() {
    synchronized (lock) {
      lastCheck = clock.instant();
      reloadIfChanged();
    }
  }

  private void reloadIfChanged() {
    List<byte[]> bytes;
    try {
      bytes = TlsMaterial.readBytes(cert, key, trustedCa);
    } catch (IOException e) {
      LOG.warning(() -> "TLS files cannot be read (" + e + "); the certificate read before stays in use");
      return;
    }
    if (material.sameBytes(bytes) || (lastBad != null && same(lastBad, bytes))) {
      return;
    }
    try {
      TlsMaterial next = TlsMaterial.read(cert, key, trustedCa);
      material = next;
      lastBad = null;
      X509Certificate leaf = next.chain() == null ? null : next.chain()[0];
      LOG.info(() -> "TLS files changed; new connections use " + (leaf == null ? "the new trusted CA"
          : "certificate serial " + leaf.getSerialNumber().toString(16) + " of " + leaf.getSubjectX500Principal()
              + ", valid until " + leaf.getNotAfter().toInstant()));
    } catch (IOException | GeneralSecurityException e) {
      lastBad = bytes;
      LOG.log(Level.WARNING, "TLS files changed but cannot be used (" + e.getMessage()
          + "); the certificate read before stays in use until they can");
    }
  }

  private static boolean same(List<byte[]> a, List<byte[]> b) {
    for (int i = 0; i < a.size(); i++) {
      if (!Arrays.equals(a.get(i), b.get(i))) {
        return false;
      }
    }
    return true;
  }

  private interface Builder {
    SslContext build(TlsMaterial m) throws IOException, GeneralSecurityException;
  }

  /**
   * An SslContext that hands each new engine to the context of the newest material.
   *
   * <p>Engines come from {@code newHandler(...).engine()}, not {@code newEngine}: gRPC wraps the engine
   * in an SslHandler of its own, and with OpenSSL {@code newEngine} gives an engine in JDK-compatible
   * mode, which decrypts one 16 KiB record per unwrap call; the engine of {@code newHandler} decrypts
   * every whole record of a read at once, as Netty's own handlers do. The handler made on the way is
   * dropped unused; the engine's owner is the handler gRPC makes, which frees it with the connection.
   */
  private final class Reloading extends SslContext {
    private final boolean client;
    private final Builder builder;
    private volatile TlsMaterial builtFrom;
    private volatile SslContext delegate;

    Reloading(boolean client, Builder builder) {
      this.client = client;
      this.builder = builder;
      TlsMaterial m = material;
      try {
        this.delegate = builder.build(m);
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalArgumentException("TLS context cannot be built: " + e.getMessage(), e);
      }
      this.builtFrom = m;
    }

    private SslContext delegate() {
      TlsMaterial m = current();
      if (m != builtFrom) {
        synchronized (this) {
          if (m != builtFrom) {
            try {
              delegate = builder.build(m);
            } catch (IOException | GeneralSecurityException | RuntimeException e) {
              LOG.log(Level.WARNING, "a TLS context cannot be built from the changed files (" + e.getMessage()
                  + "); the previous one stays in use");
            }
            builtFrom = m;
          }
        }
      }
      return delegate;
    }

    @Override
    public boolean isClient() {
      return client;
    }

    @Override
    public List<String> cipherSuites() {
      return delegate.cipherSuites();
    }

    @Override
    public ApplicationProtocolNegotiator applicationProtocolNegotiator() {
      return delegate.applicationProtocolNegotiator();
    }

    @Override
    public SSLEngine newEngine(ByteBufAllocator alloc) {
      return delegate().newHandler(alloc).engine();
    }

    @Override
    public SSLEngine newEngine(ByteBufAllocator alloc, String peerHost, int peerPort) {
      return delegate().newHandler(alloc, peerHost, peerPort).engine();
    }

    @Override
    public SSLSessionContext sessionContext() {
      return delegate.sessionContext();
    }
  }

  /** The CA's verdict (chain and host name), then the {@link PeerCheck}'s. */
  private static final class CheckingTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager ca;
    private final PeerCheck check;

    CheckingTrustManager(X509Certificate[] trusted, PeerCheck check) throws GeneralSecurityException, IOException {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < trusted.length; i++) {
        store.setCertificateEntry("ca-" + i, trusted[i]);
      }
      TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init(store);
      X509ExtendedTrustManager found = null;
      for (TrustManager tm : f.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          found = x;
        }
      }
      if (found == null) {
        throw new GeneralSecurityException("no X.509 trust manager in " + f.getAlgorithm());
      }
      this.ca = found;
      this.check = check;
    }

    private void identity(X509Certificate[] chain, String host, int port) throws CertificateException {
      Optional<PeerIdentity> peer;
      try {
        peer = Optional.of(PeerCertificates.identity(chain[0]));
      } catch (PeerCertificates.NoIdentity e) {
        peer = Optional.empty();
      }
      Optional<String> refused = check.refuse(host, port, peer);
      if (refused.isPresent()) {
        LOG.warning(() -> "refused the server at " + host + ":" + port + ": " + refused.get());
        throw new CertificateException("the server at " + host + ":" + port + " is refused: " + refused.get());
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      ca.checkServerTrusted(chain, authType, engine);
      identity(chain, engine.getPeerHost(), engine.getPeerPort());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      ca.checkServerTrusted(chain, authType, socket);
      identity(chain, socket == null ? null : socket.getInetAddress().getHostAddress(),
          socket == null ? -1 : socket.getPort());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      // Without the connection the host name cannot be checked: refuse rather than trust less.
      throw new CertificateException("server certificates are checked with their connection only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      ca.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      ca.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      ca.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return ca.getAcceptedIssuers();
    }
  }
}
