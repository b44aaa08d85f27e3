package io.spillway.pool.forward;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.MessageLite;
import io.grpc.Detachable;
import io.grpc.HasByteBuffer;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A frame as bytes, passed from one hop to the next without being parsed: the gateway takes the
 * transport's buffers ({@link Detachable}) and hands them to the next stream, which copies them once
 * into its own transport buffers. {@link #reader} reads tags in place, without copying payloads, for the
 * few facts the gateway needs (op kinds, error replies).
 *
 * <p>Ownership: a frame is sent once ({@link #MARSHALLER} gives the transport its stream, and the
 * transport closes it) or {@link #release()}d.
 */
public final class RawFrame {

  /** Passes frames through as bytes in both directions. */
  public static final MethodDescriptor.Marshaller<RawFrame> MARSHALLER = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(RawFrame value) {
      InputStream s = value.stream;
      value.stream = null;
      return s;
    }

    @Override
    public RawFrame parse(InputStream stream) {
      try {
        int size = stream.available();
        InputStream owned = stream instanceof Detachable d
            ? d.detach() : new ByteArrayInputStream(stream.readAllBytes());
        return new RawFrame(owned, size);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private InputStream stream;
  private final int size;

  private RawFrame(InputStream stream, int size) {
    this.stream = stream;
    this.size = size;
  }

  /** A frame made by the gateway itself. */
  public static RawFrame of(MessageLite message) {
    byte[] bytes = message.toByteArray();
    return new RawFrame(new ByteArrayInputStream(bytes), bytes.length);
  }

  public int size() {
    return size;
  }

  /**
   * A reader over the frame's bytes in place, for parsing it whole (the few frames the gateway rewrites,
   * like the first) or scanning its tags. It does not alias: what it parses stays valid after the frame
   * is sent or released. The frame can still be sent afterwards.
   */
  public CodedInputStream reader() throws IOException {
    if (stream == null) {
      throw new IllegalStateException("frame already sent or released");
    }
    CodedInputStream in;
    if (stream instanceof HasByteBuffer hb && hb.byteBufferSupported() && stream.markSupported()) {
      // Marked, the transport keeps every buffer alive until close; unmarked, skipping frees them.
      stream.mark(Integer.MAX_VALUE);
      List<ByteBuffer> buffers = new ArrayList<>();
      while (stream.available() > 0) {
        ByteBuffer b = hb.getByteBuffer();
        buffers.add(b);
        stream.skip(b.remaining());
      }
      stream.reset();
      in = CodedInputStream.newInstance(buffers);
    } else {
      byte[] bytes = stream.readAllBytes();
      stream = new ByteArrayInputStream(bytes);
      in = CodedInputStream.newInstance(bytes);
    }
    in.setSizeLimit(Integer.MAX_VALUE);
    return in;
  }

  /** Hands the transport's buffers back; the frame is not sent. Idempotent. */
  public void release() {
    if (stream != null) {
      try {
        stream.close();
      } catch (IOException ignored) {
        // Closing transport buffers does not fail.
      }
      stream = null;
    }
  }
}
