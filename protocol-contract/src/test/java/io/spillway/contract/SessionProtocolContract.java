package io.spillway.contract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.kernels.CpuReference;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.server.RawSession;
import io.spillway.protocol.SessionProtocol;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Close;
import io.spillway.protocol.v1.DeviceInfo;
import io.spillway.protocol.v1.DevicePointer;
import io.spillway.protocol.v1.Dim3;
import io.spillway.protocol.v1.Fill;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Launch;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Write;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The session protocol (docs/protocol.md) as every implementation must speak it, at the wire level. It is
 * extended once per path a session can take (a node directly, through an edge, through edge and center
 * under a lease, spanning two servers): the client cannot tell them apart except by where
 * {@code DeviceInfo} says the session runs. Each subclass starts its path once for the class; each test
 * opens its own session on it and closes it.
 *
 * <p>Buffers live on the session's last GPU, so that on a spanning path every op crosses to the second
 * server.
 */
abstract class SessionProtocolContract {

  static final long MIB = 1L << 20;
  static final long GIB = 1L << 30;
  static final String TENANT = "contract";

  /** The address a client dials for this path. */
  abstract String address();

  /** The slice each test opens. */
  abstract SliceRequest slice();

  /** The pool every device of an opened session must name. */
  abstract String pool();

  /** Who answers a refused open on this path, as its description names it ("this node", "gateway edge-x"). */
  abstract String firstHop();

  /** Called after a refused open: the path must hold nothing for it (no slice, no session, no lease). */
  void assertNothingHeldFor(String tenant) {}

  private ManagedChannel channel;
  RawSession session;
  Opened opened;

  @BeforeEach
  void open() throws Exception {
    channel = NettyChannelBuilder.forTarget(address()).usePlaintext().maxInboundMessageSize(128 << 20).build();
    session = new RawSession(channel);
    opened = session.open(TENANT, slice());
  }

  @AfterEach
  void closeChannel() {
    session.close();
    channel.shutdownNow();
  }

  int device() {
    return opened.getDevicesCount() - 1;
  }

  static Op.Builder alloc(long handle, long bytes, int device) {
    return Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(handle).setBytes(bytes).setDevice(device));
  }

  Op.Builder alloc(long handle, long bytes) {
    return alloc(handle, bytes, device());
  }

  static Op.Builder write(long handle, long offset, byte[] data) {
    return Op.newBuilder().setWrite(Write.newBuilder().setHandle(handle).setOffset(offset)
        .setData(ByteString.copyFrom(data)));
  }

  static Op.Builder read(long handle, long offset, long length) {
    return Op.newBuilder().setRead(Read.newBuilder().setHandle(handle).setOffset(offset).setLength(length));
  }

  static Op.Builder fill(long handle, long offset, long bytes, int value) {
    return Op.newBuilder().setFill(Fill.newBuilder().setHandle(handle).setOffset(offset).setBytes(bytes)
        .setValue(value));
  }

  static Op.Builder free(long handle) {
    return Op.newBuilder().setFree(Free.newBuilder().setHandle(handle));
  }

  static Op.Builder sync() {
    return Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance());
  }

  static Op.Builder loadKernels(long module) {
    return Op.newBuilder().setLoadModule(LoadModule.newBuilder().setModule(module)
        .setImage(ByteString.copyFrom(SpillwayKernels.ptx())).setName(SpillwayKernels.MODULE_NAME));
  }

  static KernelArg ptr(long handle, long offset, Access access) {
    return KernelArg.newBuilder().setPtr(DevicePointer.newBuilder().setHandle(handle).setOffset(offset)
        .setAccess(access)).build();
  }

  static KernelArg f32(float v) {
    return KernelArg.newBuilder().setF32(v).build();
  }

  static KernelArg i32(int v) {
    return KernelArg.newBuilder().setI32(v).build();
  }

  Op.Builder launch(long module, String function, int n, KernelArg... args) {
    return Op.newBuilder().setLaunch(Launch.newBuilder().setModule(module).setFunction(function)
        .setGrid(Dim3.newBuilder().setX(Math.max(1, (n + 255) / 256)).setY(1).setZ(1))
        .setBlock(Dim3.newBuilder().setX(256).setY(1).setZ(1)).addAllArgs(List.of(args)).setDevice(device()));
  }

  /** Reads a whole synchronizing answer to a read: its chunks, in order, the last one marked. */
  byte[] readData(long seq) throws InterruptedException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long expected = -1;
    while (true) {
      Reply r = session.next();
      assertEquals(seq, r.getSeq(), () -> "reply to seq " + seq + " expected, got " + r);
      assertTrue(r.hasReadData(), () -> "read data expected, got " + r);
      if (expected >= 0) {
        assertEquals(expected, r.getReadData().getOffset(), "chunks arrive in offset order, back to back");
      }
      out.writeBytes(r.getReadData().getData().toByteArray());
      expected = r.getReadData().getOffset() + r.getReadData().getData().size();
      if (r.getReadData().getLast()) {
        return out.toByteArray();
      }
    }
  }

  long synchronizedOk() throws InterruptedException {
    long seq = session.frame(sync());
    Reply r = session.next();
    assertEquals(seq, r.getSeq(), () -> "synchronize answered: " + r);
    assertTrue(r.hasSynchronized(), () -> "synchronized expected, got " + r);
    return r.getSynchronized().getFailedOps();
  }

  Reply expectError(long seq, Status.Code code, String op, String... fragments) throws InterruptedException {
    Reply r = session.next();
    assertEquals(seq, r.getSeq(), () -> "the error answers seq " + seq + ": " + r);
    assertTrue(r.hasError(), () -> "an error expected, got " + r);
    assertEquals(code.value(), r.getError().getCode(), () -> "code of " + r.getError());
    assertEquals(op, r.getError().getOp());
    String d = r.getError().getDescription();
    assertTrue(d.contains(op + " (seq " + seq + ")"), () -> "'" + d + "' names the op and its seq");
    for (String f : fragments) {
      assertTrue(d.contains(f), () -> "'" + d + "' lacks '" + f + "'");
    }
    return r;
  }

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  static byte[] floats(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putFloat(f);
    }
    return b.array();
  }

  static float[] floats(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[bytes.length / 4];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.getFloat();
    }
    return out;
  }

  // ---- Opening

  @Test
  void openedSaysWhereTheSessionRunsAndWhatTheServerAccepts() {
    assertFalse(opened.getSessionId().isEmpty(), "a session id");
    assertEquals(1, opened.getProtocolVersion(), "the session speaks the version it was opened with");
    assertTrue(opened.getChunkBytes() > 0 && opened.getMaxFrameBytes() >= opened.getChunkBytes(),
        () -> "chunk " + opened.getChunkBytes() + ", frame " + opened.getMaxFrameBytes());
    int gpus = Math.max(1, slice().getGpuCount());
    assertEquals(gpus, opened.getDevicesCount());
    for (int i = 0; i < gpus; i++) {
      DeviceInfo d = opened.getDevices(i);
      assertEquals(i, d.getIndex());
      assertEquals(pool(), d.getPool());
      assertFalse(d.getNode().isEmpty() || d.getGpuUuid().isEmpty(), d::toString);
      assertEquals(slice().getMemoryBytes(), d.getMemoryLimitBytes());
      assertTrue(d.getCardMemoryBytes() >= d.getMemoryLimitBytes(), d::toString);
    }
  }

  // ---- Memory

  @Test
  void writtenBytesReadBackAndFreedHandlesAreGone() throws Exception {
    byte[] data = random(4096, 1);
    long r = session.frame(alloc(1, 4096), write(1, 0, data), read(1, 0, 4096));
    assertArrayEquals(data, readData(r));
    r = session.frame(read(1, 1000, 10));
    assertArrayEquals(java.util.Arrays.copyOfRange(data, 1000, 1010), readData(r));
    long f = session.frame(free(1), read(1, 0, 1));
    expectError(f, Status.Code.NOT_FOUND, "read", "handle 1");
    assertEquals(1, synchronizedOk(), "one failed op so far");
  }

  @Test
  void bulkDataTravelsInChunksBothWays() throws Exception {
    int chunk = opened.getChunkBytes();
    int size = 2 * chunk + chunk / 2;
    byte[] data = random(size, 2);
    List<Op.Builder> ops = new ArrayList<>();
    ops.add(alloc(1, size));
    for (int off = 0; off < size; off += chunk) {
      ops.add(write(1, off, java.util.Arrays.copyOfRange(data, off, Math.min(size, off + chunk))));
    }
    session.frame(ops.toArray(Op.Builder[]::new));
    long r = session.frame(read(1, 0, size));
    List<Reply> chunks = new ArrayList<>();
    ByteArrayOutputStream back = new ByteArrayOutputStream();
    while (true) {
      Reply c = session.next();
      assertEquals(r, c.getSeq());
      assertTrue(c.hasReadData(), c::toString);
      chunks.add(c);
      back.writeBytes(c.getReadData().getData().toByteArray());
      if (c.getReadData().getLast()) {
        break;
      }
    }
    assertTrue(chunks.size() >= 3, () -> chunks.size() + " chunks for " + size + " bytes at " + chunk);
    for (Reply c : chunks) {
      assertTrue(c.getReadData().getData().size() <= chunk, "no chunk above the advised size");
    }
    assertArrayEquals(data, back.toByteArray());
  }

  @Test
  void fillSetsTheRangeAndNothingElse() throws Exception {
    long r = session.frame(alloc(1, 64), fill(1, 0, 64, 1), fill(1, 16, 8, 0xAB), read(1, 0, 64));
    byte[] back = readData(r);
    for (int i = 0; i < 64; i++) {
      assertEquals(i >= 16 && i < 24 ? (byte) 0xAB : 1, back[i], "byte " + i);
    }
  }

  // ---- Kernels

  @Test
  void typedLaunchesOfTheKernelLibraryComputeWhatTheCpuDoes() throws Exception {
    int n = 1000;
    float[] x = new float[n];
    float[] y = new float[n];
    float[] b = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = i * 0.5f;
      y[i] = 1 - i;
      b[i] = i % 7;
    }
    long r = session.frame(loadKernels(7), alloc(1, 4L * n), alloc(2, 4L * n), alloc(3, 4L * n),
        alloc(4, 4L * n),
        write(1, 0, floats(x)), write(2, 0, floats(y)), write(3, 0, floats(b)),
        launch(7, SpillwayKernels.SAXPY, n, f32(2f), ptr(1, 0, Access.ACCESS_READ),
            ptr(2, 0, Access.ACCESS_READ_WRITE), i32(n)),
        launch(7, SpillwayKernels.VECTOR_ADD, n, ptr(2, 0, Access.ACCESS_READ), ptr(3, 0, Access.ACCESS_READ),
            ptr(4, 0, Access.ACCESS_WRITE), i32(n)),
        read(4, 0, 4L * n));
    float[] expected = CpuReference.vectorAdd(CpuReference.saxpy(2f, x, y), b);
    assertArrayEquals(expected, floats(readData(r)), 1e-5f);
    assertEquals(0, synchronizedOk(), "no op failed");
  }

  @Test
  void aPointerMayBeAnEndPointerButNotBeyond() throws Exception {
    // An end pointer (offset == size) is a valid argument, as one past the end is in C; a kernel given
    // no work does not dereference it. One byte further is refused, naming the argument and the offset.
    long l = session.frame(loadKernels(7), alloc(1, 64), alloc(2, 64),
        launch(7, SpillwayKernels.SAXPY, 0, f32(1f), ptr(1, 64, Access.ACCESS_READ),
            ptr(2, 64, Access.ACCESS_READ_WRITE), i32(0)));
    assertEquals(0, synchronizedOk(), "an end pointer is accepted");
    l = session.frame(launch(7, SpillwayKernels.SAXPY, 0, f32(1f), ptr(1, 65, Access.ACCESS_READ),
        ptr(2, 0, Access.ACCESS_READ_WRITE), i32(0)));
    expectError(l, Status.Code.INVALID_ARGUMENT, "launch", "argument 1", "offset 65", "handle 1", "size 64");
  }

  @Test
  void aKernelTheModuleDoesNotDeclareIsNotFound() throws Exception {
    long l = session.frame(loadKernels(7), launch(7, "no_such_kernel", 1));
    expectError(l, Status.Code.NOT_FOUND, "launch", "no_such_kernel");
    long u = session.frame(launch(8, SpillwayKernels.SAXPY, 1));
    expectError(u, Status.Code.NOT_FOUND, "launch", "8");
  }

  // ---- Errors: the op, its seq, the value; the session goes on

  @Test
  void unknownHandlesAreNotFoundAndTheSessionGoesOn() throws Exception {
    long w = session.frame(write(42, 0, new byte[8]));
    expectError(w, Status.Code.NOT_FOUND, "write", "handle 42");
    long f = session.frame(fill(43, 0, 8, 0));
    expectError(f, Status.Code.NOT_FOUND, "fill", "handle 43");
    long r = session.frame(alloc(1, 8), write(1, 0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}), read(1, 0, 8));
    assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, readData(r), "unchanged by the failed ops");
    assertEquals(2, synchronizedOk());
  }

  @Test
  void outOfRangeCopiesAreRefusedNamingOffsetLengthAndHandle() throws Exception {
    long w = session.frame(alloc(1, 8192), write(1, 8190, new byte[4096]));
    expectError(w, Status.Code.INVALID_ARGUMENT, "write", "4096 bytes", "offset 8190", "handle 1", "8192");
    long r = session.frame(read(1, 8000, 200));
    expectError(r, Status.Code.INVALID_ARGUMENT, "read", "200 bytes", "offset 8000", "handle 1");
    long fl = session.frame(fill(1, 9000, 1, 0));
    expectError(fl, Status.Code.INVALID_ARGUMENT, "fill", "offset 9000", "handle 1");
    long a = session.frame(alloc(1, 16));
    expectError(a, Status.Code.ALREADY_EXISTS, "alloc", "handle 1");
    assertEquals(4, synchronizedOk());
  }

  @Test
  void repliesTravelInOpOrder() throws Exception {
    long first = session.frame(alloc(1, 16), write(1, 0, new byte[16]), write(9, 0, new byte[1]),
        read(1, 0, 16), fill(9, 0, 1, 0), sync());
    // seqs: alloc first-5, write first-4, bad write first-3, read first-2, bad fill first-1, sync first
    Reply e1 = session.next();
    assertEquals(first - 3, e1.getSeq(), () -> "first the failed write: " + e1);
    assertTrue(e1.hasError());
    readData(first - 2);
    Reply e2 = session.next();
    assertEquals(first - 1, e2.getSeq(), () -> "then the failed fill: " + e2);
    assertTrue(e2.hasError());
    Reply s = session.next();
    assertEquals(first, s.getSeq());
    assertEquals(2, s.getSynchronized().getFailedOps());
  }

  @Test
  void sequenceNumbersMustIncrease() throws Exception {
    long last = session.frame(alloc(1, 8));
    session.sendRaw(io.spillway.protocol.v1.ClientFrame.newBuilder()
        .addOps(free(1).setSeq(last)).build().toByteArray());
    expectError(last, Status.Code.INVALID_ARGUMENT, "free", "sequence numbers must increase");
  }

  @Test
  void aSecondOpenIsRefusedAndTheSessionGoesOn() throws Exception {
    long o = session.frame(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(1).setTenant(TENANT)
        .setSlice(slice())));
    expectError(o, Status.Code.INVALID_ARGUMENT, "open", "already open");
    assertEquals(1, synchronizedOk());
  }

  @Test
  void closeIsAnsweredAndEndsTheStreamWithOk() throws Exception {
    long c = session.frame(alloc(1, 1024), Op.newBuilder().setClose(Close.getDefaultInstance()));
    Reply r = session.next();
    assertEquals(c, r.getSeq());
    assertTrue(r.hasClosed(), r::toString);
    assertEquals(Status.Code.OK, session.awaitClose().getCode());
  }

  // ---- Opening refused

  @Test
  void anUnknownProtocolVersionIsRefusedByTheFirstHopBeforeAnythingIsHeld() throws Exception {
    String tenant = "bad-version";
    try (RawSession bad = new RawSession(channel)) {
      int unknown = SessionProtocol.VERSION + 1;
      bad.frame(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(unknown).setTenant(tenant)
          .setSlice(slice())));
      Reply r = bad.next();
      assertTrue(r.hasError(), r::toString);
      assertEquals(Status.Code.FAILED_PRECONDITION.value(), r.getError().getCode(), r::toString);
      assertEquals("open", r.getError().getOp());
      assertTrue(r.getError().getFatal());
      String d = r.getError().getDescription();
      assertTrue(d.contains("open (seq 1): protocol version " + unknown + " is not supported; " + firstHop()
          + " speaks 1.." + SessionProtocol.VERSION), d);
      Status end = bad.awaitClose();
      assertEquals(Status.Code.FAILED_PRECONDITION, end.getCode());
      assertEquals(d, end.getDescription(), "the stream ends with the same status");
    }
    assertNothingHeldFor(tenant);
  }

  @Test
  void aFirstFrameWithoutOpenEndsTheStream() throws Exception {
    try (RawSession bad = new RawSession(channel)) {
      bad.frame(sync());
      Status end = bad.awaitClose();
      assertEquals(Status.Code.INVALID_ARGUMENT, end.getCode());
      assertTrue(end.getDescription().contains("must start with an open op"), end.getDescription());
    }
  }
}
