package io.spillway.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A session stream that sends frames as bytes the caller made (so a hostile client can send what the SDK
 * never would) and counts what comes back. Reading is either automatic or left to the caller
 * ({@link #readMore}), to play a client that stops reading.
 *
 * <p>Thread-safe: gRPC's callbacks update atomics; {@link #send} may be called from one thread at a time.
 */
final class RawSession implements AutoCloseable {

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private static final MethodDescriptor<byte[], byte[]> METHOD =
      GpuSessionServiceGrpc.getSessionMethod().toBuilder(BYTES, BYTES).build();

  private final ClientCall<byte[], byte[]> call;
  private final boolean autoRead;
  private final Object ready = new Object();
  final CompletableFuture<Status> closed = new CompletableFuture<>();
  final AtomicLong frames = new AtomicLong();
  final AtomicLong replies = new AtomicLong();
  final AtomicLong errors = new AtomicLong();
  final AtomicLong readBytes = new AtomicLong();
  final AtomicReference<String> firstError = new AtomicReference<>();
  final AtomicReference<String> firstNotice = new AtomicReference<>();
  final AtomicReference<String> sessionId = new AtomicReference<>();

  RawSession(Channel channel, boolean autoRead) {
    this.autoRead = autoRead;
    this.call = channel.newCall(METHOD, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        frames.incrementAndGet();
        try {
          for (Reply r : ServerFrame.parseFrom(message).getRepliesList()) {
            replies.incrementAndGet();
            if (r.hasOpened()) {
              sessionId.compareAndSet(null, r.getOpened().getSessionId());
            } else if (r.hasError()) {
              errors.incrementAndGet();
              firstError.compareAndSet(null, Status.fromCodeValue(r.getError().getCode()).getCode() + ": "
                  + r.getError().getDescription());
            } else if (r.hasNotice()) {
              firstNotice.compareAndSet(null, r.getNotice().toString().replace('\n', ' ').strip());
            } else if (r.hasReadData()) {
              readBytes.addAndGet(r.getReadData().getData().size());
            }
          }
        } catch (InvalidProtocolBufferException e) {
          firstError.compareAndSet(null, "unparseable server frame: " + e.getMessage());
        }
        if (RawSession.this.autoRead) {
          call.request(1);
        }
      }

      @Override
      public void onReady() {
        synchronized (ready) {
          ready.notifyAll();
        }
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
        synchronized (ready) {
          ready.notifyAll();
        }
      }
    }, new Metadata());
    call.request(1);
  }

  /** Asks for {@code n} more server frames (a reader that is not automatic). */
  void readMore(int n) {
    call.request(n);
  }

  /**
   * Sends a frame once the stream can take it; false if the stream closed first or it stayed unready
   * until {@code deadlineNanos} (flow control holding the sender back).
   */
  boolean send(byte[] frame, long deadlineNanos) throws InterruptedException {
    synchronized (ready) {
      while (!call.isReady() && !closed.isDone()) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(ready, Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
      }
    }
    if (closed.isDone()) {
      return false;
    }
    call.sendMessage(frame);
    return true;
  }

  /** The status the server closed the stream with, if it did within {@code millis}; else null. */
  Status awaitClose(long millis) throws InterruptedException {
    try {
      return closed.get(millis, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      return null;
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Ends the stream from the client's side (a cancel, as a client that goes away). */
  @Override
  public void close() {
    if (!closed.isDone()) {
      call.cancel("the hostile client is done", null);
    }
  }
}
