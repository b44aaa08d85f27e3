package io.spillway.pool.session;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs tasks one at a time, in the order given, on threads of a shared pool: one session's lease calls
 * keep their order (unreachable before elsewhere, borrow before give-back) while a call that hangs holds
 * up only its own session's later calls.
 */
final class SerialExecutor implements Executor {
  private static final Logger LOG = Logger.getLogger(SerialExecutor.class.getName());

  private final Executor pool;
  private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
  private boolean running;

  SerialExecutor(Executor pool) {
    this.pool = pool;
  }

  @Override
  public void execute(Runnable task) {
    synchronized (queue) {
      queue.add(task);
      if (running) {
        return;
      }
      running = true;
    }
    pool.execute(this::drain);
  }

  private void drain() {
    while (true) {
      Runnable next;
      synchronized (queue) {
        next = queue.poll();
        if (next == null) {
          running = false;
          return;
        }
      }
      try {
        next.run();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "lease call failed", e);
      }
    }
  }
}
