package io.spillway.pool.session;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spillway.pool.forward.RawFrame;

/**
 * One stream from the gateway to the node or center gateway holding a session, for one generation of
 * the session: each rebuild or failback opens a new one. Its transport callbacks only enqueue onto the
 * session's executor; the session drops those of a stream it no longer uses (see {@link Events}).
 * Methods other than {@link #request} and {@link #isReady} must be called on that executor.
 */
final class Upstream extends ClientCall.Listener<RawFrame> {

  /** Run on the session's executor; {@code from} may be a stream the session has left. */
  interface Events {
    void upstreamMessage(Upstream from, RawFrame frame);

    void upstreamReady(Upstream from);

    void upstreamClosed(Upstream from, Status status, Metadata trailers);
  }

  final int generation;
  /** A node id, or "center" for a spilled session. */
  final String name;
  private final ClientCall<RawFrame, RawFrame> call;
  private final SynchronizationContext executor;
  private final Events events;
  private final java.util.concurrent.Executor threads;

  private Upstream(int generation, String name, ClientCall<RawFrame, RawFrame> call,
      SynchronizationContext executor, java.util.concurrent.Executor threads, Events events) {
    this.threads = threads;
    this.generation = generation;
    this.name = name;
    this.call = call;
    this.executor = executor;
    this.events = events;
  }

  /** Starts a stream and asks for its first frame. */
  static Upstream start(SessionHost host, String address, int generation, String name,
      SynchronizationContext executor, Events events) {
    Upstream u = new Upstream(generation, name, host.newUpstreamCall(address), executor,
        host.sessionThreads(), events);
    u.call.start(u, new Metadata());
    u.call.request(1);
    return u;
  }

  @Override
  public void onMessage(RawFrame frame) {
    later(() -> events.upstreamMessage(this, frame));
  }

  @Override
  public void onReady() {
    later(() -> events.upstreamReady(this));
  }

  @Override
  public void onClose(Status status, Metadata trailers) {
    later(() -> events.upstreamClosed(this, status, trailers));
  }

  /** Off the event loop: see {@link ForwardedSession#fromTransport}. */
  private void later(Runnable task) {
    executor.executeLater(task);
    threads.execute(executor::drain);
  }

  void send(RawFrame frame) {
    call.sendMessage(frame);
  }

  void halfClose() {
    call.halfClose();
  }

  void cancel(String why) {
    call.cancel(why, null);
  }

  boolean isReady() {
    return call.isReady();
  }

  void request() {
    call.request(1);
  }
}
