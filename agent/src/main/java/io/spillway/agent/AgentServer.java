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
  private final ShimConnection.Sessions sessions;
  private final SpillwayClient client;
  private final ServerSocketChannel server;
  private final Thread acceptor;
  private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger served = new AtomicInteger();
  private volatile boolean closed;

  private AgentServer(AgentConfig config, ShimConnection.Sessions sessions, SpillwayClient client) throws IOException {
    this.config = config;
    this.sessions = sessions;
    this.client = client;
    Path socket = config.socket();
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    acceptor = new Thread(this::acceptLoop, "spillway-agent-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Starts an agent whose sessions go through the SDK to {@code config.gateway()}. */
  public static AgentServer start(AgentConfig config) throws IOException {
    return start(config, SpillwayClient.connect(config.gateway()));
  }

  /**
   * Starts an agent whose sessions go through {@code client} (built for {@code config.gateway()}, with
   * TLS and the machine's certificate where the gateway asks for them); the agent closes it.
   */
  public static AgentServer start(AgentConfig config, SpillwayClient client) throws IOException {
    return new AgentServer(config, request -> new SdkGpu(client.open(request)), client);
  }

  /** Starts an agent over sessions opened elsewhere (tests). */
  public static AgentServer start(AgentConfig config, ShimConnection.Sessions sessions) throws IOException {
    return new AgentServer(config, sessions, null);
  }

  public Path socket() {
    return config.socket();
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
      new ShimConnection(ch, sessions, config, pid -> checkPeer(peer, pid)).serve();
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
