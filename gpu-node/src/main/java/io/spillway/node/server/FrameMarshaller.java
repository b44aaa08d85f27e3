package io.spillway.node.server;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
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

  /** Field 1, length-delimited: {@code ClientFrame.ops}. */
  private static final int OPS_TAG = (1 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;

  private final int maxFrameOps;

  /** Accepts any number of ops per frame. */
  public FrameMarshaller() {
    this(Integer.MAX_VALUE);
  }

  /** @param maxFrameOps ops a frame may hold; a frame with more is refused unparsed */
  public FrameMarshaller(int maxFrameOps) {
    this.maxFrameOps = maxFrameOps;
  }

  /** A received frame, parsed on first use. Not thread-safe: used by the session's thread. */
  public static final class Inbound {
    private InputStream source;
    private final int size;
    private final int maxOps;
    private ClientFrame frame;
    private String parseError;
    private boolean tooManyOps;

    private Inbound(InputStream source, int size, int maxOps) {
      this.source = source;
      this.size = size;
      this.maxOps = maxOps;
    }

    /**
     * Parses the frame; afterwards {@link #frame()} or {@link #parseError()} is set. The ops are counted
     * first, by a scan of the tags that allocates nothing per op; a frame of more than the limit is not
     * parsed, so its size in memory is its size on the wire.
     */
    public Inbound parse() {
      if (source == null || frame != null || parseError != null) {
        return this;
      }
      try {
        List<ByteBuffer> buffers = null;
        byte[] bytes = null;
        if (source instanceof HasByteBuffer hb && hb.byteBufferSupported() && source.markSupported()) {
          buffers = buffers(source);
        } else {
          bytes = source.readAllBytes();
        }
        if (maxOps != Integer.MAX_VALUE) {
          CodedInputStream scan = bytes != null ? CodedInputStream.newInstance(bytes)
              : CodedInputStream.newInstance(buffers.stream().map(ByteBuffer::duplicate).toList());
          scan.setSizeLimit(Integer.MAX_VALUE);
          int ops = countOps(scan, maxOps);
          if (ops > maxOps) {
            tooManyOps = true;
            parseError = "frame of " + size + " bytes holds more than " + maxOps
                + " ops, the most a frame may (--max-frame-ops " + maxOps + "); nothing in it was executed";
            return this;
          }
        }
        CodedInputStream in = bytes != null ? CodedInputStream.newInstance(bytes)
            : CodedInputStream.newInstance(buffers);
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

    /** True when the frame was refused for holding too many ops (its {@link #parseError()} says so). */
    public boolean tooManyOps() {
      return tooManyOps;
    }

    /** Counts the ops of a frame up to one past {@code max}; a malformed frame is left to the parser. */
    private static int countOps(CodedInputStream in, int max) {
      int ops = 0;
      try {
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
          if (tag == OPS_TAG && ++ops > max) {
            return ops;
          }
          if (!in.skipField(tag)) {
            return ops;
          }
        }
      } catch (IOException malformed) {
        // The parse that follows reports it.
      }
      return ops;
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
        return new Inbound(d.detach(), size, maxFrameOps);
      }
      return new Inbound(new java.io.ByteArrayInputStream(stream.readAllBytes()), size, maxFrameOps);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
