package io.spillway.agent;

import io.spillway.client.SpillwayClient;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * {@code spillway agent}: serves the CUDA shims of one machine. One thread accepts on the Unix socket;
 * each connection (one process) gets a thread of its own that owns its sessions ({@link ShimConnection}).
 *
 * <p>Who may connect: the socket is created with mode 0600, and each connection's peer credentials
 * ({@code SO_PEERCRED}, through {@link ExtendedSocketOptions#SO_PEERCRED}) must name the agent's own user
 * or root; the process id the shim claims must belong to that user, since the agent opens the shim's
 * shared memory through {@code /proc/<pid>/fd}.
 */
public final class AgentServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(AgentServer.class.getName());

  private final AgentConfig config;
  private final SessionOpener sessions;
  private final PeerPolicy peers;
  private final SpillwayClient client;
  private final ServerSocketChannel server;
  private final Thread acceptor;
  private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger served = new AtomicInteger();
  private volatile boolean closed;

  private AgentServer(AgentConfig config, SessionOpener sessions, SpillwayClient client, PeerPolicy peers,
      String mode) throws IOException {
    this.config = config;
    this.sessions = sessions;
    this.client = client;
    this.peers = peers;
    Path socket = config.socket();
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString(mode));
    acceptor = new Thread(this::acceptLoop, "spillway-agent-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Starts an agent whose sessions go through the SDK to {@code config.gateway()}, without a credential. */
  public static AgentServer start(AgentConfig config) throws IOException {
    return withToken(config, null);
  }

  /**
   * As {@link #start(AgentConfig)}, with the agent's own token (role {@code spillway-agent}), asked for at
   * every open, vouching for {@code config.tenant()}: the gateway admits the session as that tenant if
   * the token lists it. Null: no credential.
   */
  public static AgentServer withToken(AgentConfig config, java.util.function.Supplier<String> agentToken)
      throws IOException {
    return withToken(config, agentToken, SpillwayClient.connect(config.gateway()));
  }

  /**
   * As {@link #withToken(AgentConfig, java.util.function.Supplier)}, through {@code client} (built for
   * {@code config.gateway()}, with TLS and the machine's certificate where the gateway asks for them);
   * the agent closes it.
   */
  public static AgentServer withToken(AgentConfig config, java.util.function.Supplier<String> agentToken,
      SpillwayClient client) throws IOException {
    if (agentToken != null) {
      client.token(agentToken).onBehalfOf(config.tenant());
    }
    return new AgentServer(config, request -> new SdkGpu(client.open(request)), client, PeerPolicy.SAME_USER,
        "rw-------");
  }

  /** {@link #start(AgentConfig)} through {@code client} (TLS as the gateway asks); the agent closes it. */
  public static AgentServer start(AgentConfig config, SpillwayClient client) throws IOException {
    return withToken(config, null, client);
  }

  /** Starts an agent over sessions opened elsewhere (tests), for the agent's own user. */
  public static AgentServer start(AgentConfig config, SessionOpener sessions) throws IOException {
    return new AgentServer(config, sessions, null, PeerPolicy.SAME_USER, "rw-------");
  }

  /**
   * Starts an agent on a socket that only one container can reach (the device plugin's per-allocation
   * socket, mounted into that container alone): any user may connect (mode 0666), and {@code peers} finds
   * the connecting process.
   */
  public static AgentServer startShared(AgentConfig config, SessionOpener sessions, PeerPolicy peers)
      throws IOException {
    return new AgentServer(config, sessions, null, peers, "rw-rw-rw-");
  }

  public Path socket() {
    return config.socket();
  }

  /** How many shim connections are open now. */
  public int connections() {
    return open.size();
  }

  /** How many shim connections have been accepted. */
  public int served() {
    return served.get();
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel ch;
      try {
        ch = server.accept();
      } catch (IOException e) {
        if (!closed) {
          LOG.warning("accept on " + config.socket() + " failed: " + e.getMessage());
        }
        return;
      }
      served.incrementAndGet();
      open.add(ch);
      Thread t = new Thread(() -> serve(ch), "spillway-agent-shim-" + served.get());
      t.setDaemon(true);
      t.start();
    }
  }

  private void serve(SocketChannel ch) {
    try (ch) {
      UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
      new ShimConnection(ch, sessions, config, (pid, fd) -> peers.procPid(peer, pid, fd)).serve();
    } catch (IOException | RuntimeException e) {
      LOG.warning("shim connection ended: " + e);
    } finally {
      open.remove(ch);
    }
  }

  /** Null when the peer may act as process {@code pid}, else why not. */
  static String checkPeer(UnixDomainPrincipal peer, int pid) {
    try {
      UserPrincipal owner = Files.getOwner(Path.of("/proc", String.valueOf(pid)));
      String self = System.getProperty("user.name");
      String user = peer.user().getName();
      if (!user.equals(self) && !"root".equals(self)) {
        return "peer user " + user + " is not the agent's user " + self;
      }
      if (!owner.getName().equals(user)) {
        return "process " + pid + " belongs to " + owner.getName() + ", the peer is " + user;
      }
      return null;
    } catch (IOException e) {
      return "process " + pid + " is not visible here (" + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      LOG.fine("closing the agent socket: " + e.getMessage());
    }
    for (SocketChannel ch : open) {
      try {
        ch.close();
      } catch (IOException e) {
        LOG.fine("closing a shim connection: " + e.getMessage());
      }
    }
    try {
      Files.deleteIfExists(config.socket());
    } catch (IOException e) {
      LOG.fine("removing " + config.socket() + ": " + e.getMessage());
    }
    if (client != null) {
      client.close();
    }
  }
}
