package io.spillway.node.server;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;

/**
 * Tells a session that bytes of a frame are arriving, before the frame is whole: gRPC hands a message
 * over only once all of it is read, so without this a large frame on a slow link reads as an idle
 * session. Installed on the node's server as a stream tracer factory; each stream's tracer rides in the
 * call's {@link Context}, where {@link GpuNodeService} finds it when the call starts.
 *
 * <p>Threading: the callbacks run on the transport thread as bytes are deframed (only while the stream
 * has asked for a frame); the listener must only write a volatile.
 */
final class InboundProgress extends ServerStreamTracer {
  private static final Context.Key<InboundProgress> KEY = Context.key("spillway-node-inbound-progress");
  private static final Runnable NONE = () -> { };

  static final ServerStreamTracer.Factory FACTORY = new ServerStreamTracer.Factory() {
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
