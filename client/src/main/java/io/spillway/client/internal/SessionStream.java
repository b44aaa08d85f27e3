package io.spillway.client.internal;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.spillway.client.SpillwayException;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.GpuSessionServiceGrpc;
import io.spillway.protocol.v1.Notice;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The client end of one session stream: numbers operations, batches them into frames, sends the frames
 * under gRPC flow control, and routes the server's replies.
 *
 * <p>Threading: everything but the {@link Responses} callbacks runs on the one caller thread that uses the
 * session at a time (see {@code GpuSession}), so the batch, the counters and {@link #awaiting} are written
 * by that thread only. The callbacks run on gRPC's threads (the transport's event loop with a direct
 * executor) and must never block: they append to {@link #pendingErrors}, fill the awaited reply, record the
 * failure and wake the caller. The caller builds exceptions itself, so their stack traces show its call.
 *
 * <p>Ordering: the server answers ops in order on the stream. When the reply to a synchronizing op
 * arrives, the errors of every earlier pipelined op are therefore already in {@link #pendingErrors}, and
 * no later op exists, because the caller is blocked until then.
 */
public final class SessionStream {

  private static final System.Logger LOG = System.getLogger(SessionStream.class.getName());

  /** A batch is sent once it holds this many ops ... */
  static final int MAX_BATCH_OPS = 256;
  /** ... or this many bytes: big enough to amortize a frame, small enough to keep latency and memory low. */
  static final int MAX_BATCH_BYTES = 1 << 20;
  /**
   * Bytes that may wait in the transport before {@code isReady()} turns false; a few frames, so bulk
   * writes keep the link busy while a stalled server still holds the client to a few MiB.
   */
  static final int ON_READY_THRESHOLD_BYTES = 4 << 20;
  /** Bound on the bytes a repeated-field entry adds to a frame beyond the op itself (tag + length). */
  private static final int OP_FRAMING_BYTES = 6;

  /** What the server said about one op, held as data until the caller turns it into an exception. */
  record ErrorInfo(Status.Code code, long seq, String op, String description, Throwable cause) {
    SpillwayException toException() {
      return new SpillwayException(code, seq, op, description, cause);
    }
  }

  /** The caller's wait for the answer to one synchronizing op. */
  private static final class Awaited {
    final long seq;
    final String op;
    /** Written by the gRPC thread before {@link #done} counts down, read by the caller after. */
    final List<Reply> replies = new ArrayList<>(1);
    ErrorInfo error;
    /** Set by the gRPC thread when the op was answered (not merely woken by a failure). */
    volatile boolean answered;
    final CountDownLatch done = new CountDownLatch(1);

    Awaited(long seq, String op) {
      this.seq = seq;
      this.op = op;
    }
  }

  private final Duration replyTimeout;
  private final Consumer<Notice> noticeHandler;
  private final ClientCallStreamObserver<ClientFrame> requests;

  private final ReentrantLock readyLock = new ReentrantLock();
  private final Condition readyOrFailed = readyLock.newCondition();
  private final Queue<ErrorInfo> pendingErrors = new ConcurrentLinkedQueue<>();
  private final CountDownLatch streamEnded = new CountDownLatch(1);
  private volatile ErrorInfo failure;
  private volatile Awaited awaiting;
  private volatile boolean closeSent;
  private volatile boolean closedReceived;
  /** Bumped by every onReady callback; guarded by readyLock for writes. */
  private volatile long readyEpoch;

  // Caller thread only.
  private long nextSeq = 1;
  private ClientFrame.Builder batch = ClientFrame.newBuilder();
  private int batchOps;
  private long batchBytes;
  private int maxFrameBytes;
  private boolean failureReported;
  private boolean closed;

  /** Starts the call; nothing is sent until the first op. */
  public SessionStream(Channel channel, Duration replyTimeout, Consumer<Notice> noticeHandler) {
    this.replyTimeout = replyTimeout;
    this.noticeHandler = noticeHandler;
    Responses responses = new Responses();
    GpuSessionServiceGrpc.newStub(channel)
        .withOnReadyThreshold(ON_READY_THRESHOLD_BYTES)
        .session(responses);
    this.requests = responses.requests;
  }

  /** Caps frames at the server's advised size (0: no cap beyond {@link #MAX_BATCH_BYTES}). */
  public void setMaxFrameBytes(int maxFrameBytes) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Appends a pipelined op, which gets the next sequence number, and sends the batch when it is full.
   *
   * @return the op's sequence number
   * @throws SpillwayException        if the session has failed
   * @throws IllegalArgumentException if the op alone exceeds the server's max_frame_bytes
   * @throws IllegalStateException    if the session is closed
   */
  public long append(Op.Builder op) {
    ensureOpen();
    throwIfFailed();
    Op built = op.setSeq(nextSeq).build();
    int size = built.getSerializedSize() + OP_FRAMING_BYTES;
    if (maxFrameBytes > 0 && size > maxFrameBytes) {
      throw new IllegalArgumentException(opName(op) + " of " + size
          + " bytes exceeds the server's max_frame_bytes " + maxFrameBytes);
    }
    nextSeq++;
    if (batchOps > 0 && maxFrameBytes > 0 && batchBytes + size > maxFrameBytes) {
      sendBatch();
    }
    batch.addOps(built);
    batchOps++;
    batchBytes += size;
    if (batchOps >= MAX_BATCH_OPS || batchBytes >= MAX_BATCH_BYTES) {
      sendBatch();
    }
    return built.getSeq();
  }

  /** Sends the current batch, if any. */
  public void flush() {
    ensureOpen();
    throwIfFailed();
    if (batchOps > 0) {
      sendBatch();
    }
  }

  /**
   * Appends a synchronizing op, sends it with the batch, and waits for its answer.
   *
   * @return the replies that answer the op (several ReadData for a read, else one)
   * @throws SpillwayException for the earliest error reported since the last synchronizing call (later
   *                           ones suppressed), the op's own error, or the session's failure
   */
  public List<Reply> call(Op.Builder op, String opName, Duration timeout) {
    ensureOpen();
    throwIfFailed();
    Awaited w = new Awaited(nextSeq, opName);
    awaiting = w;
    try {
      append(op);
      flush();
      if (op.getKindCase() == Op.KindCase.CLOSE) {
        closeSent = true;
        requests.onCompleted();
      }
      awaitAnswer(w, timeout);
    } finally {
      awaiting = null;
    }
    throwReported(w.error);
    return w.replies;
  }

  /** Sends the open op alone in the first frame and waits for Opened (or the error that refuses it). */
  public Reply open(Op.Builder open, Duration timeout) {
    List<Reply> replies = call(open, "open", timeout);
    return replies.get(0);
  }

  /**
   * Ends the session: sends Close, half-closes, and waits for Closed and for the server to end the stream.
   * Idempotent. Throws what {@link #call} throws, or the session's failure if no call has reported it.
   */
  public void close(Op.Builder closeOp, Duration timeout) {
    if (closed) {
      return;
    }
    try {
      closeOnce(closeOp, timeout);
    } finally {
      closed = true;
    }
  }

  private void closeOnce(Op.Builder closeOp, Duration timeout) {
    if (failure != null) {
      requests.cancel("session closed after it failed", null);
      if (!failureReported) {
        throwIfFailed();
      }
      return;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    SpillwayException reported = null;
    try {
      call(closeOp, "close", timeout);
    } catch (SpillwayException e) {
      if (failure != null) {
        requests.cancel("session closed after it failed", null);
        throw e;
      }
      // Errors of earlier ops: the session is closing normally, report them once it has ended.
      reported = e;
    }
    try {
      if (!streamEnded.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        fail(Status.Code.DEADLINE_EXCEEDED, "server did not end the stream within "
            + timeout.toMillis() + " ms of close", null);
        if (reported == null) {
          throwIfFailed();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fail(Status.Code.CANCELLED, "interrupted while waiting for the server to end the stream", e);
      if (reported == null) {
        throwIfFailed();
      }
    }
    if (reported != null) {
      throw reported;
    }
  }

  /** Abandons the session without telling the server more than a cancellation. */
  public void cancel(String why) {
    closed = true;
    fail(Status.Code.CANCELLED, why, null);
  }

  private void awaitAnswer(Awaited w, Duration timeout) {
    try {
      if (!w.done.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
        fail(Status.Code.DEADLINE_EXCEEDED, "no answer to " + w.op + " (seq " + w.seq + ") within "
            + timeout.toMillis() + " ms; the session was cancelled", null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fail(Status.Code.CANCELLED, "interrupted while waiting for " + w.op + " (seq " + w.seq
          + "); the session was cancelled", e);
    }
    if (!w.answered) {
      throwIfFailed();
    }
  }

  /** Throws the earliest of the pending errors and {@code own}, the others suppressed, if there is any. */
  private void throwReported(ErrorInfo own) {
    SpillwayException first = null;
    ErrorInfo e;
    while ((e = pendingErrors.poll()) != null) {
      first = chain(first, e.toException());
    }
    if (own != null) {
      first = chain(first, own.toException());
    }
    if (first != null) {
      throw first;
    }
  }

  private static SpillwayException chain(SpillwayException first, SpillwayException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the session is closed");
    }
  }

  private void throwIfFailed() {
    ErrorInfo f = failure;
    if (f != null) {
      failureReported = true;
      throw f.toException();
    }
  }

  private void sendBatch() {
    ClientFrame frame = batch.build();
    batch = ClientFrame.newBuilder();
    batchOps = 0;
    batchBytes = 0;
    if (!requests.isReady()) {
      awaitReady();
    }
    requests.onNext(frame);
  }

  /** Blocks while the transport holds more than its threshold of unsent bytes: a slow server slows us. */
  private void awaitReady() {
    long deadline = System.nanoTime() + replyTimeout.toNanos();
    boolean interrupted = false;
    while (failure == null) {
      // Read the epoch before isReady(): a transition after the check bumps it, so it is not lost.
      // isReady() is called without readyLock held, as the transport may take its own locks in it.
      long epoch = readyEpoch;
      if (requests.isReady()) {
        break;
      }
      long remaining = deadline - System.nanoTime();
      if (remaining <= 0) {
        break;
      }
      readyLock.lock();
      try {
        while (readyEpoch == epoch && failure == null && remaining > 0) {
          remaining = readyOrFailed.awaitNanos(remaining);
        }
      } catch (InterruptedException e) {
        interrupted = true;
        break;
      } finally {
        readyLock.unlock();
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
      fail(Status.Code.CANCELLED, "interrupted while waiting for the server to accept more data; "
          + "the session was cancelled", null);
    } else if (failure == null && !requests.isReady()) {
      fail(Status.Code.DEADLINE_EXCEEDED, "server accepted no data for " + replyTimeout.toMillis()
          + " ms; the session was cancelled", null);
    }
    throwIfFailed();
  }

  private void signalReady() {
    readyLock.lock();
    try {
      readyEpoch++;
      readyOrFailed.signalAll();
    } finally {
      readyLock.unlock();
    }
  }

  /** Records the session's failure (the first one wins), cancels the call and wakes the caller. */
  private void fail(Status.Code code, String description, Throwable cause) {
    ErrorInfo f = new ErrorInfo(code, 0, "session", description, cause);
    recordFailure(f);
    requests.cancel(description, cause);
  }

  private void recordFailure(ErrorInfo f) {
    synchronized (this) {
      if (failure != null) {
        return;
      }
      failure = f;
    }
    // The caller publishes awaiting before it reads failure; we publish failure before we read
    // awaiting. Both are volatile, so one of us sees the other and the caller never waits in vain.
    Awaited w = awaiting;
    if (w != null) {
      w.done.countDown();
    }
    signalReady();
  }

  private static String opName(Op.Builder op) {
    return op.getKindCase().name().toLowerCase(java.util.Locale.ROOT);
  }

  private static ErrorInfo errorInfo(Reply reply, String fallbackOp) {
    var e = reply.getError();
    String op = e.getOp().isEmpty() ? fallbackOp : e.getOp();
    return new ErrorInfo(Status.fromCodeValue(e.getCode()).getCode(), reply.getSeq(), op,
        e.getDescription(), null);
  }

  /** gRPC-side callbacks. Never block here. */
  private final class Responses implements ClientResponseObserver<ClientFrame, ServerFrame> {
    ClientCallStreamObserver<ClientFrame> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<ClientFrame> requestStream) {
      this.requests = requestStream;
      requestStream.setOnReadyHandler(SessionStream.this::signalReady);
    }

    @Override
    public void onNext(ServerFrame frame) {
      for (Reply reply : frame.getRepliesList()) {
        onReply(reply);
      }
    }

    private void onReply(Reply reply) {
      if (reply.getKindCase() == Reply.KindCase.NOTICE) {
        LOG.log(System.Logger.Level.DEBUG, "spillway notice: {0}", reply.getNotice().getMessage());
        noticeHandler.accept(reply.getNotice());
        return;
      }
      if (reply.getKindCase() == Reply.KindCase.ERROR) {
        Awaited w = awaiting;
        boolean awaited = w != null && w.seq == reply.getSeq();
        ErrorInfo info = errorInfo(reply, awaited ? w.op : "op");
        if (reply.getError().getFatal()) {
          recordFailure(info);
          return;
        }
        if (awaited) {
          w.error = info;
          w.answered = true;
          w.done.countDown();
        } else {
          pendingErrors.add(info);
        }
        return;
      }
      Awaited w = awaiting;
      if (w == null || w.seq != reply.getSeq()) {
        LOG.log(System.Logger.Level.WARNING, "spillway: ignoring {0} reply for seq {1}, which is not awaited",
            reply.getKindCase(), reply.getSeq());
        return;
      }
      w.replies.add(reply);
      if (reply.getKindCase() == Reply.KindCase.CLOSED) {
        closedReceived = true;
      }
      if (reply.getKindCase() != Reply.KindCase.READ_DATA || reply.getReadData().getLast()) {
        w.answered = true;
        w.done.countDown();
      }
    }

    @Override
    public void onError(Throwable t) {
      Status s = Status.fromThrowable(t);
      String description = s.getDescription() != null ? s.getDescription() : String.valueOf(s.getCode());
      recordFailure(new ErrorInfo(s.getCode(), 0, "session", description, t));
      streamEnded.countDown();
    }

    @Override
    public void onCompleted() {
      if (!closedReceived) {
        recordFailure(new ErrorInfo(Status.Code.UNAVAILABLE, 0, "session", closeSent
            ? "server ended the session stream without confirming close"
            : "server ended the session stream before it was closed", null));
      }
      streamEnded.countDown();
    }
  }
}
