package io.spillway.pool.session;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;

/**
 * Tells a session that bytes of a client frame are arriving, before the frame is whole: gRPC hands a
 * message to the session only once all of it is read, so without this a large frame on a slow link
 * reads as silence. Installed on the gateway's server as a stream tracer factory; each stream's tracer
 * rides in the call's {@link Context}, where the session finds it when the call starts.
 *
 * <p>Threading: the tracer's callbacks run on the transport thread as bytes are deframed, which happens
 * only while the session has asked for a frame; the listener they call must only write a volatile.
 */
public final class InboundProgress extends ServerStreamTracer {
  private static final Context.Key<InboundProgress> KEY = Context.key("spillway-inbound-progress");
  private static final Runnable NONE = () -> { };

  /** The factory to add to the gateway's server builder. */
  public static final ServerStreamTracer.Factory FACTORY = new ServerStreamTracer.Factory() {
    @Override
    public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
      return new InboundProgress();
    }
  };

  private volatile Runnable listener = NONE;

  private InboundProgress() {}

  /** The tracer of the call whose context is current, or null when the server has no such factory. */
  static InboundProgress current() {
    return KEY.get();
  }

  /** {@code onProgress} runs on each arrival of a frame's bytes from now on. */
  void listen(Runnable onProgress) {
    listener = onProgress;
  }

  @Override
  public Context filterContext(Context context) {
    return context.withValue(KEY, this);
  }

  @Override
  public void inboundMessage(int seqNo) {
    listener.run();
  }

  @Override
  public void inboundWireSize(long bytes) {
    listener.run();
  }
}
