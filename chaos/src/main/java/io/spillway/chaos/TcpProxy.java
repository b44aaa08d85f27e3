package io.spillway.chaos;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on 127.0.0.1 that the chaos suite controls: every connection accepted on {@link #port()} is
 * forwarded byte for byte to {@code target}. {@link #cut()} closes every proxied connection (both ends)
 * and stops listening, so new connections are refused, as when the link goes down; {@link #restore()}
 * listens again on the same port.
 */
final class TcpProxy implements AutoCloseable {

  private final String name;
  private final InetSocketAddress target;
  private final int port;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile Listener listener;

  /**
   * One listening period. The accept thread itself closes the server socket when told to stop: a
   * ServerSocket closed by another thread while one is blocked in accept() is not released at once (the
   * port keeps accepting connections for a while), which would make a cut leaky.
   */
  private static final class Listener {
    final ServerSocket server;
    final CountDownLatch closed = new CountDownLatch(1);
    volatile boolean stop;

    Listener(ServerSocket server) {
      this.server = server;
    }
  }

  /** Listens at once on a free port. */
  TcpProxy(String name, String targetHostPort) throws IOException {
    this.name = name;
    int colon = targetHostPort.lastIndexOf(':');
    this.target = new InetSocketAddress(targetHostPort.substring(0, colon),
        Integer.parseInt(targetHostPort.substring(colon + 1)));
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      this.port = probe.getLocalPort();
    }
    restore();
  }

  int port() {
    return port;
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  String target() {
    return target.getHostString() + ":" + target.getPort();
  }

  /** Connections accepted since start. */
  int accepted() {
    return accepted.get();
  }

  /** Connections open now (client side). */
  int open() {
    return sockets.size() / 2;
  }

  /** Listens again (no-op while listening). */
  synchronized void restore() throws IOException {
    if (listener != null && !listener.stop) {
      return;
    }
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.setSoTimeout(50);
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    Listener l = new Listener(s);
    listener = l;
    Thread t = new Thread(() -> acceptLoop(l), "chaos-proxy-" + name + "-accept");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Stops listening (new connections are refused) and closes every proxied connection with a reset.
   *
   * @return how many proxied connections were open and closed
   */
  int cut() {
    Listener l;
    synchronized (this) {
      l = listener;
      if (l != null) {
        l.stop = true;
      }
    }
    if (l != null) {
      try {
        if (!l.closed.await(5, TimeUnit.SECONDS)) {
          l.server.close();
        }
      } catch (InterruptedException | IOException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (this) {
      return resetAll();
    }
  }

  private int resetAll() {
    int n = sockets.size() / 2;
    for (Socket socket : sockets) {
      reset(socket);
    }
    sockets.clear();
    return n;
  }

  private void acceptLoop(Listener l) {
    try {
      acceptUntilStopped(l);
    } finally {
      try {
        l.server.close();
      } catch (IOException ignored) {
        // closing anyway
      }
      l.closed.countDown();
    }
  }

  private void acceptUntilStopped(Listener l) {
    ServerSocket s = l.server;
    while (!l.stop) {
      Socket client;
      try {
        client = s.accept();
      } catch (SocketTimeoutException e) {
        continue;
      } catch (IOException e) {
        return;
      }
      accepted.incrementAndGet();
      Socket upstream = new Socket();
      try {
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
        upstream.connect(target, 2000);
      } catch (IOException e) {
        reset(client);
        reset(upstream);
        continue;
      }
      synchronized (this) {
        if (l.stop) {
          reset(client);
          reset(upstream);
          continue;
        }
        sockets.add(client);
        sockets.add(upstream);
      }
      pump(client, upstream, "up");
      pump(upstream, client, "down");
    }
  }

  private void pump(Socket from, Socket to, String direction) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[64 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
        }
      } catch (IOException e) {
        // the other side or cut() closed it
      } finally {
        sockets.remove(from);
        sockets.remove(to);
        close(from);
        close(to);
      }
    }, "chaos-proxy-" + name + "-" + direction);
    t.setDaemon(true);
    t.start();
  }

  private static void reset(Socket s) {
    try {
      s.setSoLinger(true, 0);
    } catch (SocketException ignored) {
      // closed already
    }
    close(s);
  }

  private static void close(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // best effort
    }
  }

  @Override
  public void close() {
    cut();
  }
}
