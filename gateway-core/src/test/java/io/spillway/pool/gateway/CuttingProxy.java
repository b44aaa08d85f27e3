package io.spillway.pool.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay to a target port that cuts every connection (with a reset) once it has carried a given
 * number of bytes from the target back to the caller: a link that dies in the middle of an answer.
 */
final class CuttingProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final int target;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicLong down = new AtomicLong();
  private volatile long cutAfterDown = Long.MAX_VALUE;
  private volatile boolean cut;

  CuttingProxy(int target) throws IOException {
    this.target = target;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::accept, "cutting-proxy");
    accept.setDaemon(true);
    accept.start();
  }

  int port() {
    return listener.getLocalPort();
  }

  /** Cuts once {@code bytes} more have gone from the target to the caller. */
  void cutAfter(long bytes) {
    cutAfterDown = down.get() + bytes;
  }

  boolean didCut() {
    return cut;
  }

  private void accept() {
    while (!listener.isClosed()) {
      try {
        Socket in = listener.accept();
        if (cut) {
          reset(in);
          continue;
        }
        Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
        sockets.add(in);
        sockets.add(out);
        pump(in, out, false);
        pump(out, in, true);
      } catch (IOException e) {
        return;
      }
    }
  }

  private void pump(Socket from, Socket to, boolean downstream) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16 << 10];
      try (InputStream in = from.getInputStream()) {
        OutputStream out = to.getOutputStream();
        for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
          out.write(buf, 0, n);
          if (downstream && down.addAndGet(n) >= cutAfterDown) {
            cutAll();
            return;
          }
        }
      } catch (IOException e) {
        // One side closed: the other follows.
      }
      reset(to);
    }, "cutting-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private void cutAll() {
    cut = true;
    sockets.forEach(CuttingProxy::reset);
  }

  private static void reset(Socket s) {
    try {
      s.setSoLinger(true, 0);
      s.close();
    } catch (IOException ignored) {
      // Already closed.
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
    sockets.forEach(CuttingProxy::reset);
  }
}
