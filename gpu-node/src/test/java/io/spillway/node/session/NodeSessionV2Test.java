package io.spillway.node.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.driver.DriverException;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.driver.WithVariables;
import io.spillway.node.schedule.FairShareScheduler;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Copy;
import io.spillway.protocol.v1.Dim3;
import io.spillway.protocol.v1.EventElapsed;
import io.spillway.protocol.v1.EventRecord;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.GetGlobal;
import io.spillway.protocol.v1.LaunchRaw;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Memset;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.PointerSlot;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.Write;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Module variables and event times in one session, without gRPC: a host-driver context that gives every
 * module a 16-byte variable (so the kernel library's vector_add can point at one), and a clock the test
 * sets.
 */
class NodeSessionV2Test {

  private static final long MIB = 1 << 20;

  private final HostGpuDriver driver = HostGpuDriver.withCards(1, "V100", 64 * MIB);
  private final FairShareScheduler scheduler = new FairShareScheduler("GPU-0");
  private final AtomicLong now = new AtomicLong();
  private final List<Reply> replies = new ArrayList<>();
  private final NodeSession.ReplySink sink = new NodeSession.ReplySink() {
    @Override
    public void reply(Reply reply) {
      replies.add(reply);
    }

    @Override
    public void flush() {
    }
  };
  private NodeSession session;
  private long seq;

  private NodeSession open() throws DriverException {
    NodeSession.Device d = new NodeSession.Device(0, new WithVariables(driver.createContext(0)), 8 * MIB,
        scheduler.register("s", 0));
    session = new NodeSession("s", "t", List.of(d), 1 << 20, 60_000, 2, now::get);
    return session;
  }

  @AfterEach
  void close() {
    if (session != null) {
      session.close();
    }
    driver.close();
  }

  private Reply exec(Op.Builder op) {
    replies.clear();
    session.execute(op.setSeq(++seq).build(), sink);
    return replies.isEmpty() ? null : replies.get(replies.size() - 1);
  }

  private static Op.Builder getGlobal(long handle) {
    return Op.newBuilder().setGetGlobal(GetGlobal.newBuilder().setModule(1).setName("weights").setHandle(handle));
  }

  private byte[] read(long handle, int length) {
    Reply r = exec(Op.newBuilder().setRead(Read.newBuilder().setHandle(handle).setLength(length)));
    assertTrue(r.hasReadData(), () -> "expected data, got " + r);
    return r.getReadData().getData().toByteArray();
  }

  private static byte[] floats(float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return b.array();
  }

  @Test
  void aBoundVariableIsReadWrittenCopiedAndPointedToLikeABufferAndFreeOnlyUnbindsIt() throws Exception {
    open();
    exec(Op.newBuilder().setLoadModule(LoadModule.newBuilder().setModule(1).setName("k")
        .setImage(ByteString.copyFrom(SpillwayKernels.ptx()))));
    Reply bound = exec(getGlobal(2));
    assertTrue(bound.hasGlobalInfo(), () -> "expected global_info, got " + bound);
    assertEquals(16, bound.getGlobalInfo().getSize());
    assertEquals(0, session.devices().get(0).memoryUsed(), "a variable is the module's memory, not the quota's");

    exec(Op.newBuilder().setWrite(Write.newBuilder().setHandle(2).setData(ByteString.copyFrom(floats(1, 2, 3, 4)))));
    exec(Op.newBuilder().setAlloc(Alloc.newBuilder().setHandle(3).setBytes(16)));
    exec(Op.newBuilder().setMemset(Memset.newBuilder().setHandle(3).setWidth(4)
        .setValue(Float.floatToRawIntBits(10f)).setCount(4)));
    // weights += buffer 3, with a pointer slot on the variable.
    byte[] params = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN).putInt(24, 4).array();
    assertEquals(null, exec(Op.newBuilder().setLaunchRaw(LaunchRaw.newBuilder().setModule(1)
        .setFunction(SpillwayKernels.VECTOR_ADD).setGrid(Dim3.newBuilder().setX(1)).setBlock(Dim3.newBuilder().setX(32))
        .setParams(ByteString.copyFrom(params))
        .addPointers(PointerSlot.newBuilder().setParamOffset(0).setHandle(2).setAccess(Access.ACCESS_READ))
        .addPointers(PointerSlot.newBuilder().setParamOffset(8).setHandle(3).setAccess(Access.ACCESS_READ))
        .addPointers(PointerSlot.newBuilder().setParamOffset(16).setHandle(2).setAccess(Access.ACCESS_WRITE)))));
    assertArrayEquals(floats(11, 12, 13, 14), read(2, 16));
    exec(Op.newBuilder().setCopy(Copy.newBuilder().setDst(3).setSrc(2).setSrcOffset(8).setBytes(8)));
    assertArrayEquals(floats(13, 14, 10, 10), read(3, 16));

    Reply past = exec(Op.newBuilder().setWrite(Write.newBuilder().setHandle(2).setOffset(12)
        .setData(ByteString.copyFrom(new byte[8]))));
    assertEquals(Status.Code.INVALID_ARGUMENT.value(), past.getError().getCode());
    assertTrue(past.getError().getDescription().contains("overrun handle 2 (size 16)"), past.getError()::getDescription);

    assertEquals(null, exec(Op.newBuilder().setFree(Free.newBuilder().setHandle(2))));
    Reply gone = exec(Op.newBuilder().setRead(Read.newBuilder().setHandle(2).setLength(4)));
    assertTrue(gone.getError().getDescription().contains("freed at seq"), gone.getError()::getDescription);
    exec(getGlobal(4));
    assertArrayEquals(floats(11, 12, 13, 14), read(4, 16), "unbinding freed nothing");
  }

  @Test
  void elapsedIsTheNodeClockBetweenTheRecordsInMilliseconds() throws Exception {
    open();
    now.set(1_000_000);
    exec(Op.newBuilder().setEventRecord(EventRecord.newBuilder().setEvent(1)));
    now.set(3_500_000);
    exec(Op.newBuilder().setEventRecord(EventRecord.newBuilder().setEvent(2)));
    now.set(9_000_000);
    Reply r = exec(Op.newBuilder().setEventElapsed(EventElapsed.newBuilder().setStart(1).setEnd(2)));
    assertEquals(2.5f, r.getElapsed().getMilliseconds());
    exec(Op.newBuilder().setEventRecord(EventRecord.newBuilder().setEvent(1)));
    r = exec(Op.newBuilder().setEventElapsed(EventElapsed.newBuilder().setStart(1).setEnd(2)));
    assertEquals(-5.5f, r.getElapsed().getMilliseconds(), "recording again moves the event");
  }
}
