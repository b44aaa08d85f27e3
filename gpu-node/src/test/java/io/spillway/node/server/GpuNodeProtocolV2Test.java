package io.spillway.node.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Copy;
import io.spillway.protocol.v1.Dim3;
import io.spillway.protocol.v1.EventElapsed;
import io.spillway.protocol.v1.EventFree;
import io.spillway.protocol.v1.EventRecord;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.GetGlobal;
import io.spillway.protocol.v1.LaunchRaw;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Memset;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.PointerSlot;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.SliceRequest;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Write;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The ops of protocol version 2 (copy, memset, launch_raw, get_global, events) against a real node over
 * gRPC on loopback: what each does, every refusal with its status, and that the session goes on after.
 */
class GpuNodeProtocolV2Test {

  private static final long MIB = 1 << 20;
  /** vector_add(a, b, c, n): three .u64 pointers at 0, 8, 16 and a .u32 at 24: 28 bytes. */
  private static final int VECTOR_ADD_PARAMS = 28;
  /** A kernel that takes a struct by value and does nothing with it. */
  private static final String STRUCT_PTX = """
      .version 8.0
      .target sm_70
      .address_size 64
      .visible .entry takes_struct(.param .align 8 .b8 takes_struct_param_0[24], .param .u32 n)
      {
        ret;
      }
      """;

  private GpuNodeServer server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    GpuNode node = new GpuNode(NodeOptions.defaults("node-v2"), HostGpuDriver.withCards(2, "V100", 64 * MIB));
    server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.close();
  }

  private RawSession open() throws InterruptedException {
    RawSession s = new RawSession(channel);
    Opened o = s.open("t", RawSession.slice(8 * MIB, 0), 2);
    assertEquals(2, o.getProtocolVersion());
    return s;
  }

  private static Op.Builder alloc(long handle, long bytes) {
    return Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(handle).setBytes(bytes));
  }

  private static Op.Builder write(long handle, long offset, byte[] data) {
    return Op.newBuilder().setWrite(Write.newBuilder().setHandle(handle).setOffset(offset)
        .setData(ByteString.copyFrom(data)));
  }

  private static Op.Builder read(long handle, long offset, long length) {
    return Op.newBuilder().setRead(Read.newBuilder().setHandle(handle).setOffset(offset).setLength(length));
  }

  private static Op.Builder copy(long dst, long dstOffset, long src, long srcOffset, long bytes) {
    return Op.newBuilder().setCopy(Copy.newBuilder().setDst(dst).setDstOffset(dstOffset).setSrc(src)
        .setSrcOffset(srcOffset).setBytes(bytes));
  }

  private static Op.Builder memset(long handle, long offset, int width, int value, long count) {
    return Op.newBuilder().setMemset(Memset.newBuilder().setHandle(handle).setOffset(offset).setWidth(width)
        .setValue(value).setCount(count));
  }

  private static Op.Builder load(long module, byte[] image, String name) {
    return Op.newBuilder().setLoadModule(LoadModule.newBuilder().setModule(module).setName(name)
        .setImage(ByteString.copyFrom(image)));
  }

  private static PointerSlot slot(int offset, long handle, long handleOffset) {
    return PointerSlot.newBuilder().setParamOffset(offset).setHandle(handle).setHandleOffset(handleOffset)
        .setAccess(Access.ACCESS_READ_WRITE).build();
  }

  private static Op.Builder raw(long module, String fn, byte[] params, PointerSlot... slots) {
    return Op.newBuilder().setLaunchRaw(LaunchRaw.newBuilder().setModule(module).setFunction(fn)
        .setGrid(Dim3.newBuilder().setX(1)).setBlock(Dim3.newBuilder().setX(64))
        .setParams(ByteString.copyFrom(params)).addAllPointers(List.of(slots)));
  }

  private static byte[] vectorAddParams(int n) {
    return ByteBuffer.allocate(VECTOR_ADD_PARAMS).order(ByteOrder.LITTLE_ENDIAN).putInt(24, n).array();
  }

  private static byte[] floats(float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return b.array();
  }

  private static Op.Builder record(long event) {
    return Op.newBuilder().setEventRecord(EventRecord.newBuilder().setEvent(event));
  }

  private static Op.Builder elapsed(long start, long end) {
    return Op.newBuilder().setEventElapsed(EventElapsed.newBuilder().setStart(start).setEnd(end));
  }

  private static byte[] readBytes(RawSession s, long handle, long offset, int length) throws InterruptedException {
    s.frame(read(handle, offset, length));
    Reply r = s.next();
    assertTrue(r.hasReadData(), () -> "expected data, got " + r);
    return r.getReadData().getData().toByteArray();
  }

  private static void assertAlive(RawSession s, long handle) throws InterruptedException {
    byte[] data = {1, 2, 3, 4};
    s.frame(write(handle, 0, data));
    assertArrayEquals(data, readBytes(s, handle, 0, 4));
  }

  @Test
  void copyMovesBytesOnTheDeviceAndOverlappingRangesBehaveAsThroughATemporary() throws Exception {
    try (RawSession s = open()) {
      s.frame(alloc(1, 16), alloc(2, 16), write(1, 0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}),
          copy(2, 4, 1, 2, 4), copy(1, 2, 1, 0, 6));
      assertArrayEquals(new byte[] {0, 0, 0, 0, 3, 4, 5, 6, 0}, readBytes(s, 2, 0, 9));
      assertArrayEquals(new byte[] {1, 2, 1, 2, 3, 4, 5, 6}, readBytes(s, 1, 0, 8));
    }
  }

  @Test
  void copyRefusesRangesPastEitherBufferEmptyCopiesOtherDevicesAndForeignHandles() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      s.open("t", SliceRequest.newBuilder().setGpuCount(2).setMemoryBytes(8 * MIB).build(), 2);
      s.frame(alloc(1, 16), alloc(2, 16), Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(3).setBytes(16)
          .setDevice(1)), load(9, SpillwayKernels.ptx(), "k"));
      s.frame(copy(2, 12, 1, 0, 8));
      s.expectError(Status.Code.INVALID_ARGUMENT, "copy (seq 6) destination: 8 bytes at offset 12 overrun handle 2");
      s.frame(copy(2, 0, 1, 9, 8));
      s.expectError(Status.Code.INVALID_ARGUMENT, "copy (seq 7) source: 8 bytes at offset 9 overrun handle 1");
      s.frame(copy(2, 0, 1, -1L, 8)); // 2^64 - 1 on the wire
      s.expectError(Status.Code.INVALID_ARGUMENT, "at offset 18446744073709551615 overrun handle 1");
      s.frame(copy(2, 0, 1, 8, -8L));
      s.expectError(Status.Code.INVALID_ARGUMENT, "18446744073709551608 bytes at offset 0 overrun handle 2");
      s.frame(copy(2, 0, 1, 0, 0));
      s.expectError(Status.Code.INVALID_ARGUMENT, "a copy must move at least 1 byte");
      s.frame(copy(2, 0, 3, 0, 8));
      s.expectError(Status.Code.INVALID_ARGUMENT, "source handle 3 is on device 1 and destination handle 2 on device 0");
      s.frame(copy(2, 0, 77, 0, 8));
      s.expectError(Status.Code.NOT_FOUND, "copy (seq 12) source: unknown handle 77");
      s.frame(copy(9, 0, 1, 0, 8));
      s.expectError(Status.Code.INVALID_ARGUMENT, "handle 9 is a module, not a buffer");
      assertAlive(s, 2);
    }
  }

  @Test
  void memsetSetsElementsOfEachWidthLittleEndian() throws Exception {
    try (RawSession s = open()) {
      s.frame(alloc(1, 32), memset(1, 0, 1, 0xAB, 3), memset(1, 4, 2, 0xBEEF, 2), memset(1, 8, 4, 0x01020304, 2));
      assertArrayEquals(new byte[] {(byte) 0xAB, (byte) 0xAB, (byte) 0xAB, 0, (byte) 0xEF, (byte) 0xBE,
          (byte) 0xEF, (byte) 0xBE, 4, 3, 2, 1, 4, 3, 2, 1, 0}, readBytes(s, 1, 0, 17));
      s.frame(memset(1, 0, 4, 0xFFFFFFFF, 8));
      byte[] all = readBytes(s, 1, 0, 32);
      for (byte b : all) {
        assertEquals((byte) 0xFF, b);
      }
    }
  }

  @Test
  void memsetRefusesBadWidthsMisalignedOffsetsWideValuesAndOverflowingCounts() throws Exception {
    try (RawSession s = open()) {
      s.frame(alloc(1, 32));
      s.frame(memset(1, 0, 3, 0, 1));
      s.expectError(Status.Code.INVALID_ARGUMENT, "memset (seq 3): width 3 is not 1, 2 or 4");
      s.frame(memset(1, 2, 4, 0, 1));
      s.expectError(Status.Code.INVALID_ARGUMENT, "offset 2 of handle 1 is not a multiple of width 4");
      s.frame(memset(1, 0, 2, 0x10000, 1));
      s.expectError(Status.Code.INVALID_ARGUMENT, "value 65536 does not fit in width 2");
      s.frame(memset(1, 0, 1, 256, 1));
      s.expectError(Status.Code.INVALID_ARGUMENT, "value 256 does not fit in width 1");
      s.frame(memset(1, 0, 4, 0, 9));
      s.expectError(Status.Code.INVALID_ARGUMENT, "36 bytes at offset 0 overrun handle 1 (size 32)");
      s.frame(memset(1, 0, 4, 0, Long.MAX_VALUE / 2));
      s.expectError(Status.Code.INVALID_ARGUMENT, "of width 4 for handle 1 overflows");
      s.frame(memset(1, 0, 2, 0, -1L));
      s.expectError(Status.Code.INVALID_ARGUMENT, "count 18446744073709551615 of width 2");
      s.frame(memset(1, 0, 2, 0, 0));
      s.expectError(Status.Code.INVALID_ARGUMENT, "sets nothing");
      s.frame(memset(5, 0, 2, 0, 1));
      s.expectError(Status.Code.NOT_FOUND, "unknown handle 5");
      assertAlive(s, 1);
    }
  }

  @Test
  void launchRawTranslatesPointerSlotsAndRunsTheKernel() throws Exception {
    try (RawSession s = open()) {
      s.frame(load(9, SpillwayKernels.ptx(), "k"), alloc(1, 16), alloc(2, 16), alloc(3, 32),
          write(1, 0, floats(1, 2, 3, 4)), write(2, 0, floats(10, 20, 30, 40)));
      // c starts 16 bytes into handle 3: the node adds handle_offset to the address.
      byte[] params = vectorAddParams(4);
      ByteBuffer.wrap(params).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 0xDEADBEEFL); // ignored: a slot
      s.frame(raw(9, SpillwayKernels.VECTOR_ADD, params, slot(0, 1, 0), slot(8, 2, 0), slot(16, 3, 16)));
      assertArrayEquals(floats(11, 22, 33, 44), readBytes(s, 3, 16, 16));
      assertArrayEquals(new byte[16], readBytes(s, 3, 0, 16));
    }
  }

  @Test
  void launchRawRefusesBuffersNotLaidOutAsTheKernelDeclaresAndSlotsOutsidePointerParameters() throws Exception {
    try (RawSession s = open()) {
      s.frame(load(9, SpillwayKernels.ptx(), "k"), alloc(1, 16), alloc(2, 16), alloc(3, 16));
      String fn = SpillwayKernels.VECTOR_ADD;
      s.frame(raw(9, fn, new byte[27], slot(0, 1, 0)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "params has 27 bytes; the kernel's parameters take 28");
      s.frame(raw(9, fn, vectorAddParams(4), slot(24, 1, 0)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "pointer slot 0 at param offset 24 does not fit in the 28-byte");
      s.frame(raw(9, fn, vectorAddParams(4), slot(4, 1, 0)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "pointer slot 0 at param offset 4 lands in parameter");
      s.frame(raw(9, fn, vectorAddParams(4), slot(0, 1, 0), slot(0, 2, 0)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "pointer slot 1 at param offset 0 overlaps another slot");
      s.frame(raw(9, fn, vectorAddParams(4), slot(-8, 1, 0))); // 2^32 - 8 on the wire
      s.expectError(Status.Code.INVALID_ARGUMENT, "param offset 4294967288 does not fit");
      s.frame(raw(9, fn, vectorAddParams(4), slot(0, 44, 0)));
      s.expectError(Status.Code.NOT_FOUND, "pointer slot 0 at param offset 0 names unknown handle 44");
      s.frame(raw(9, fn, vectorAddParams(4), slot(0, 1, 17)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "points at offset 17 of handle 1 (size 16)");
      s.frame(raw(9, "no_such_kernel", vectorAddParams(4)));
      s.expectError(Status.Code.NOT_FOUND, "has no kernel 'no_such_kernel'");
      s.frame(raw(10, fn, vectorAddParams(4)));
      s.expectError(Status.Code.NOT_FOUND, "unknown module handle 10");
      s.frame(raw(1, fn, vectorAddParams(4)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "handle 1 is a buffer, not a module");
      s.frame(Op.newBuilder().setLaunchRaw(LaunchRaw.newBuilder().setModule(9).setFunction(fn)
          .setGrid(Dim3.newBuilder().setX(1)).setBlock(Dim3.newBuilder().setX(2048))
          .setParams(ByteString.copyFrom(vectorAddParams(4)))));
      s.expectError(Status.Code.INVALID_ARGUMENT, "block 2048x1x1 is out of range");
      // An end pointer is a valid slot value.
      s.frame(raw(9, fn, vectorAddParams(0), slot(0, 1, 16), slot(8, 2, 16), slot(16, 3, 16)));
      assertAlive(s, 1);
    }
  }

  @Test
  void aPointerSlotMayLieEightAlignedInsideAStructParameter() throws Exception {
    try (RawSession s = open()) {
      s.frame(load(8, STRUCT_PTX.getBytes(StandardCharsets.UTF_8), "struct.ptx"), alloc(1, 16));
      byte[] params = new byte[28];
      s.frame(raw(8, "takes_struct", params, slot(4, 1, 0)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "lands in parameter takes_struct_param_0 (bytes, 24 bytes at offset 0)");
      s.frame(raw(8, "takes_struct", params, slot(24, 1, 0)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "does not fit in the 28-byte parameter buffer");
      // Both slots pass the node's checks and the kernel runs: the next answer is the read's data.
      s.frame(raw(8, "takes_struct", params, slot(0, 1, 0), slot(16, 1, 8)));
      assertAlive(s, 1);
    }
  }

  @Test
  void getGlobalRefusesUnknownVariablesModulesAndHandlesInUse() throws Exception {
    try (RawSession s = open()) {
      s.frame(load(9, SpillwayKernels.ptx(), "k"), alloc(1, 16));
      s.frame(Op.newBuilder().setGetGlobal(GetGlobal.newBuilder().setModule(9).setName("nope").setHandle(2)));
      s.expectError(Status.Code.NOT_FOUND, "module 9 (k) has no .global or .const variable 'nope'");
      s.frame(Op.newBuilder().setGetGlobal(GetGlobal.newBuilder().setModule(9).setName("nope").setHandle(1)));
      s.expectError(Status.Code.ALREADY_EXISTS, "handle 1 is already in use");
      s.frame(Op.newBuilder().setGetGlobal(GetGlobal.newBuilder().setModule(7).setName("x").setHandle(2)));
      s.expectError(Status.Code.NOT_FOUND, "unknown module handle 7");
      s.frame(Op.newBuilder().setGetGlobal(GetGlobal.newBuilder().setModule(9).setName("x").setHandle(0)));
      s.expectError(Status.Code.INVALID_ARGUMENT, "handle 0 is reserved");
      assertAlive(s, 1);
    }
  }

  @Test
  void eventsAreTimedInOpOrderAndRefuseWhatWasNeverRecordedFreedOrReplayed() throws Exception {
    try (RawSession s = open()) {
      s.frame(load(9, SpillwayKernels.ptx(), "k"), alloc(1, 16), record(1), record(2), elapsed(1, 2));
      Reply r = s.next();
      assertTrue(r.hasElapsed(), () -> "expected elapsed, got " + r);
      assertTrue(r.getElapsed().getMilliseconds() >= 0, "end was recorded after start");
      s.frame(elapsed(2, 1));
      assertTrue(s.next().getElapsed().getMilliseconds() <= 0, "start and end swapped");
      s.frame(elapsed(1, 3));
      s.expectError(Status.Code.NOT_FOUND, "event_elapsed (seq 8): event 3 was never recorded");
      s.frame(Op.newBuilder().setEventFree(EventFree.newBuilder().setEvent(2)), elapsed(1, 2));
      s.expectError(Status.Code.NOT_FOUND, "event 2 was freed at seq 9");
      s.frame(Op.newBuilder().setEventFree(EventFree.newBuilder().setEvent(2)));
      s.expectError(Status.Code.NOT_FOUND, "event_free (seq 11): event 2 was freed at seq 9");
      s.frame(Op.newBuilder().setEventRecord(EventRecord.newBuilder().setEvent(4).setReplayed(true)),
          elapsed(1, 4));
      s.expectError(Status.Code.ABORTED, "event 4 was recorded before a gateway moved the session");
      s.frame(record(0));
      s.expectError(Status.Code.INVALID_ARGUMENT, "event 0 is reserved");
      // Freeing an event that was never recorded is allowed: clients create events without an op.
      s.frame(Op.newBuilder().setEventFree(EventFree.newBuilder().setEvent(5)),
          Op.newBuilder().setSynchronize(Synchronize.getDefaultInstance()));
      assertTrue(s.next().hasSynchronized());
    }
  }

  @Test
  void versionTwoOpsNeedAVersionTwoSessionAndUnknownOpsAreNamed() throws Exception {
    try (RawSession s = new RawSession(channel)) {
      assertEquals(1, s.open("t", RawSession.slice(MIB, 0)).getProtocolVersion());
      s.frame(alloc(1, 16), memset(1, 0, 1, 0, 4));
      s.expectError(Status.Code.INVALID_ARGUMENT, "memset (seq 3) needs protocol version 2; the session was"
          + " opened with version 1");
      s.frame(record(1));
      s.expectError(Status.Code.INVALID_ARGUMENT, "event_record (seq 4) needs protocol version 2");
      s.frame(Op.newBuilder().setUnknownFields(UnknownFieldSet.newBuilder()
          .addField(99, UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build()));
      s.expectError(Status.Code.INVALID_ARGUMENT, "op (seq 5) is an operation this node does not know (Op field"
          + " [99])");
      assertAlive(s, 1);
    }
    try (RawSession s = new RawSession(channel)) {
      Reply r = s.send(Op.newBuilder().setOpen(Open.newBuilder().setProtocolVersion(3).setTenant("t")
          .setSlice(RawSession.slice(MIB, 0))));
      assertTrue(r.hasError());
      assertEquals(Status.Code.FAILED_PRECONDITION.value(), r.getError().getCode());
      assertTrue(r.getError().getDescription().contains("protocol version 3 is not supported; this node speaks 1..2"),
          r.getError().getDescription());
    }
  }

  @Test
  void freeOfAnUnknownHandleStillSaysSoAfterTheNewOps() throws Exception {
    try (RawSession s = open()) {
      s.frame(alloc(1, 16), copy(1, 0, 1, 8, 8), Op.newBuilder().setFree(Free.newBuilder().setHandle(1)),
          copy(1, 0, 1, 8, 8));
      s.expectError(Status.Code.NOT_FOUND, "unknown handle 1 (it was freed at seq 4)");
    }
  }
}
