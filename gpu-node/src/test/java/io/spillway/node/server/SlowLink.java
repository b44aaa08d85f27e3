package io.spillway.node.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;

/** A TCP relay that passes bytes from the caller to the target at a set rate, and back at full speed. */
public final class SlowLink implements AutoCloseable {
  private final ServerSocket listener;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  public SlowLink(int target, long bytesPerSecond) throws IOException {
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(() -> {
      while (!listener.isClosed()) {
        try {
          Socket in = listener.accept();
          Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
          sockets.add(in);
          sockets.add(out);
          relay(in, out, bytesPerSecond);
          relay(out, in, 0);
        } catch (IOException e) {
          return;
        }
      }
    }, "slow-link");
    accept.setDaemon(true);
    accept.start();
  }

  public String address() {
    return "127.0.0.1:" + listener.getLocalPort();
  }

  /** Relays {@code from} to {@code to}, paced to {@code rate} bytes a second (0: unpaced). */
  private static void relay(Socket from, Socket to, long rate) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[8 << 10];
      long start = System.nanoTime();
      long sent = 0;
      try (InputStream in = from.getInputStream()) {
        OutputStream out = to.getOutputStream();
        for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
          out.write(buf, 0, n);
          out.flush();
          sent += n;
          if (rate > 0) {
            // Pacing, not waiting for a condition: the link's rate is what the test is about.
            long due = start + sent * 1_000_000_000L / rate;
            for (long left = due - System.nanoTime(); left > 0; left = due - System.nanoTime()) {
              LockSupport.parkNanos(left);
            }
          }
        }
      } catch (IOException e) {
        // One side closed.
      }
      try {
        to.close();
      } catch (IOException ignored) {
        // Already closed.
      }
    }, "slow-link-relay");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() throws IOException {
    listener.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
