package io.spillway.node.server;

import com.google.protobuf.CodedInputStream;
import io.grpc.Detachable;
import io.grpc.HasByteBuffer;
import io.grpc.MethodDescriptor;
import io.spillway.protocol.v1.ClientFrame;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Receives client frames without parsing them on the transport's thread, and without letting a
 * malformed one kill the stream.
 *
 * <p>{@link #parse} only takes the frame's buffers from the transport ({@link Detachable}); the
 * session's own thread parses them later ({@link Inbound#parse()}), so the event loop spends its time on
 * the socket, not on copying payloads. Parsing reads the transport's buffers in place, with aliasing:
 * a payload that lies within one buffer is a view of it, one that spans buffers is copied once.
 * {@link Inbound#release()} hands the buffers back once the frame has been executed.
 *
 * <p>Bytes that are not a {@link ClientFrame} parse to an error, which the session answers with
 * {@code INVALID_ARGUMENT} before it goes on.
 */
public final class FrameMarshaller implements MethodDescriptor.Marshaller<FrameMarshaller.Inbound> {

  /** A received frame, parsed on first use. Not thread-safe: used by the session's thread. */
  public static final class Inbound {
    private InputStream source;
    private final int size;
    private ClientFrame frame;
    private String parseError;

    private Inbound(InputStream source, int size) {
      this.source = source;
      this.size = size;
    }

    /** Parses the frame; afterwards {@link #frame()} or {@link #parseError()} is set. */
    public Inbound parse() {
      if (source == null || frame != null || parseError != null) {
        return this;
      }
      try {
        CodedInputStream in = source instanceof HasByteBuffer hb && hb.byteBufferSupported()
            && source.markSupported()
            ? CodedInputStream.newInstance(buffers(source))
            : CodedInputStream.newInstance(source.readAllBytes());
        in.enableAliasing(true);
        in.setSizeLimit(Integer.MAX_VALUE);
        frame = ClientFrame.parseFrom(in);
        in.checkLastTagWas(0);
      } catch (IOException e) {
        frame = null;
        parseError = "malformed frame of " + size + " bytes: " + e.getMessage();
      }
      return this;
    }

    public ClientFrame frame() {
      return frame;
    }

    public String parseError() {
      return parseError;
    }

    public int size() {
      return size;
    }

    /** Returns the transport buffers the frame's payloads may point into. Idempotent. */
    public void release() {
      if (source != null) {
        try {
          source.close();
        } catch (IOException ignored) {
          // Closing a detached transport buffer does not fail.
        }
        source = null;
      }
    }

    private static List<ByteBuffer> buffers(InputStream in) throws IOException {
      HasByteBuffer hb = (HasByteBuffer) in;
      // Without a mark, skipping past a transport buffer frees it; marked, they all live until close.
      in.mark(Integer.MAX_VALUE);
      List<ByteBuffer> list = new ArrayList<>();
      while (in.available() > 0) {
        ByteBuffer b = hb.getByteBuffer();
        list.add(b);
        in.skip(b.remaining());
      }
      return list;
    }
  }

  @Override
  public InputStream stream(Inbound value) {
    return value.parse().frame().toByteString().newInput();
  }

  @Override
  public Inbound parse(InputStream stream) {
    try {
      int size = stream.available();
      if (stream instanceof Detachable d) {
        return new Inbound(d.detach(), size);
      }
      return new Inbound(new java.io.ByteArrayInputStream(stream.readAllBytes()), size);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
