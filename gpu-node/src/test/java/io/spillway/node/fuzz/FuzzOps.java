package io.spillway.node.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.google.protobuf.ByteString;
import io.spillway.kernels.SpillwayKernels;
import io.spillway.protocol.v1.Access;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.Close;
import io.spillway.protocol.v1.Copy;
import io.spillway.protocol.v1.DevicePointer;
import io.spillway.protocol.v1.Dim3;
import io.spillway.protocol.v1.EventElapsed;
import io.spillway.protocol.v1.EventFree;
import io.spillway.protocol.v1.EventRecord;
import io.spillway.protocol.v1.Fill;
import io.spillway.protocol.v1.Free;
import io.spillway.protocol.v1.GetGlobal;
import io.spillway.protocol.v1.KernelArg;
import io.spillway.protocol.v1.Launch;
import io.spillway.protocol.v1.LaunchRaw;
import io.spillway.protocol.v1.LoadModule;
import io.spillway.protocol.v1.Memset;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.PointerSlot;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Synchronize;
import io.spillway.protocol.v1.Unreplayable;
import io.spillway.protocol.v1.Write;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Session ops drawn from a fuzzer's data, for the fuzz tests of the node and of the gateway's journal.
 * Handles, modules and events come from small ranges so that ops meet the objects earlier ops made;
 * sizes and offsets are mostly small and sometimes extreme (near 2^64, past a buffer's end); kernel
 * launches name the library's kernels or a module's own, with arguments that mostly match the kernel's
 * parameters. Deterministic in the data, so a saved input replays the same ops.
 */
public final class FuzzOps {

  /** A module with a {@code .global} variable, a kernel that writes it and one that never ends. */
  public static final String VARIABLES_PTX = """
      .version 8.0
      .target sm_80
      .address_size 64
      .visible .global .align 4 .u32 counter;
      .visible .entry bump(.param .u64 out)
      {
      .reg .b32 %r<3>;
      .reg .b64 %rd<3>;
      ld.param.u64 %rd1, [out];
      cvta.to.global.u64 %rd2, %rd1;
      ld.global.u32 %r1, [counter];
      add.s32 %r2, %r1, 1;
      st.global.u32 [counter], %r2;
      st.global.u32 [%rd2], %r2;
      ret;
      }
      .visible .entry spin()
      {
      LOOP:
      bra.uni LOOP;
      }
      """;

  private static final byte[] LIBRARY = SpillwayKernels.ptx();
  private static final List<String> FUNCTIONS = List.of("vector_add", "saxpy", "dense", "softmax", "fill_f32",
      "bump", "spin", "missing");
  /** Each function's parameters: p = pointer, i = 32-bit integer, f = f32. */
  private static final List<String> SIGNATURES = List.of("pppi", "fppi", "ppppiiii", "ppii", "pfi", "p", "",
      "");

  private final FuzzedDataProvider data;
  private final long maxBytes;
  private final int protocolVersion;
  private long seq;

  /**
   * @param maxBytes the largest buffer, write or read the ops usually ask for (a few ask for more)
   * @param firstSeq the sequence number of the first op
   */
  public FuzzOps(FuzzedDataProvider data, long maxBytes, long firstSeq, int protocolVersion) {
    this.data = data;
    this.maxBytes = maxBytes;
    this.seq = firstSeq - 1;
    this.protocolVersion = protocolVersion;
  }

  public boolean more() {
    return data.remainingBytes() > 0;
  }

  /** The sequence number of the last op made. */
  public long lastSeq() {
    return seq;
  }

  public Op next() {
    Op.Builder op = Op.newBuilder().setSeq(nextSeq());
    int kinds = protocolVersion >= 2 ? 20 : 11;
    switch (data.consumeInt(0, kinds - 1)) {
      case 0, 1 -> op.setAlloc(Alloc.newBuilder().setHandle(handle()).setBytes(size())
          .setPersistent(data.consumeBoolean()).setDevice(data.consumeInt(0, 1)));
      case 2 -> op.setFree(Free.newBuilder().setHandle(data.consumeBoolean() ? handle() : module()));
      case 3 -> op.setWrite(Write.newBuilder().setHandle(handle()).setOffset(offset())
          .setData(ByteString.copyFrom(bytes(writeLength()))));
      case 4 -> op.setFill(Fill.newBuilder().setHandle(handle()).setOffset(offset()).setBytes(size())
          .setValue(data.consumeInt()));
      case 5 -> op.setRead(Read.newBuilder().setHandle(handle()).setOffset(offset()).setLength(size()));
      case 6 -> op.setLoadModule(LoadModule.newBuilder().setModule(module()).setImage(image())
          .setName("m" + data.consumeInt(0, 3)));
      case 7, 8 -> op.setLaunch(launch());
      case 9 -> op.setSynchronize(Synchronize.getDefaultInstance());
      case 10 -> {
        if (data.consumeInt(0, 15) == 0) {
          op.setClose(Close.getDefaultInstance());
        } else {
          op.setSynchronize(Synchronize.getDefaultInstance());
        }
      }
      case 11 -> op.setCopy(Copy.newBuilder().setDst(handle()).setDstOffset(offset()).setSrc(handle())
          .setSrcOffset(offset()).setBytes(size()));
      case 12 -> op.setMemset(Memset.newBuilder().setHandle(handle()).setOffset(offset())
          .setWidth(data.pickValue(new Integer[] {1, 2, 4, 3, 8, 0})).setValue(data.consumeInt())
          .setCount(size() / 4));
      case 13, 14 -> op.setLaunchRaw(launchRaw());
      case 15 -> op.setGetGlobal(GetGlobal.newBuilder().setModule(module())
          .setName(data.consumeBoolean() ? "counter" : data.consumeString(8)).setHandle(handle())
          .setDevice(data.consumeInt(0, 1)));
      case 16 -> op.setEventRecord(EventRecord.newBuilder().setEvent(data.consumeInt(1, 4))
          .setReplayed(data.consumeInt(0, 7) == 0));
      case 17 -> op.setEventElapsed(EventElapsed.newBuilder().setStart(data.consumeInt(1, 4))
          .setEnd(data.consumeInt(1, 4)));
      case 18 -> op.setEventFree(EventFree.newBuilder().setEvent(data.consumeInt(1, 4)));
      default -> {
        if (data.consumeBoolean()) {
          op.setUnreplayable(Unreplayable.newBuilder().setReason(data.consumeString(16)));
        } // else: no kind set
      }
    }
    return op.build();
  }

  private long nextSeq() {
    int how = data.consumeInt(0, 31);
    if (how == 0) {
      return seq; // repeated
    }
    if (how == 1) {
      return data.consumeLong(); // anywhere, 0 and negative (huge unsigned) included
    }
    return ++seq;
  }

  private long handle() {
    return data.consumeInt(0, 15) == 0 ? data.consumeLong() : data.consumeInt(1, 6);
  }

  private long module() {
    return data.consumeInt(0, 15) == 0 ? data.consumeLong() : data.consumeInt(100, 102);
  }

  private long size() {
    return switch (data.consumeInt(0, 15)) {
      case 0 -> 0;
      case 1 -> data.consumeLong();
      case 2 -> maxBytes + data.consumeInt(1, 4096);
      default -> data.consumeLong(1, maxBytes);
    };
  }

  /** A write's data length: {@link #size()}, capped at 64 KiB (a size near 2^64 or negative gives the cap). */
  private int writeLength() {
    long n = size();
    return n < 0 || n > 1 << 16 ? 1 << 16 : (int) n;
  }

  private long offset() {
    return switch (data.consumeInt(0, 7)) {
      case 0 -> data.consumeLong();
      case 1, 2 -> data.consumeLong(0, maxBytes);
      default -> 0;
    };
  }

  private byte[] bytes(int n) {
    byte[] b = new byte[n];
    if (n > 0) {
      b[0] = data.consumeByte();
      b[n - 1] = data.consumeByte();
    }
    return b;
  }

  private ByteString image() {
    // The library is large (its parse and decode dominate an input's time): a few loads use it.
    return switch (data.consumeInt(0, 7)) {
      case 0 -> ByteString.copyFrom(LIBRARY);
      case 1, 2, 3, 4 -> ByteString.copyFromUtf8(VARIABLES_PTX);
      case 5 -> ByteString.copyFrom(data.consumeBytes(64));
      default -> ByteString.copyFrom(VARIABLES_PTX.substring(0, data.consumeInt(0, VARIABLES_PTX.length())),
          StandardCharsets.US_ASCII);
    };
  }

  private Dim3 dim(int max) {
    if (data.consumeInt(0, 31) == 0) {
      return Dim3.newBuilder().setX(data.consumeInt()).setY(data.consumeInt()).setZ(data.consumeInt()).build();
    }
    return Dim3.newBuilder().setX(data.consumeInt(1, max)).setY(1).setZ(1).build();
  }

  private Launch launch() {
    int f = data.consumeInt(0, FUNCTIONS.size() - 1);
    Launch.Builder l = Launch.newBuilder().setModule(module()).setFunction(FUNCTIONS.get(f))
        .setGrid(dim(4)).setBlock(dim(64)).setDevice(data.consumeInt(0, 1));
    String sig = SIGNATURES.get(f);
    boolean matching = data.consumeInt(0, 3) != 0;
    int count = matching ? sig.length() : data.consumeInt(0, 9);
    for (int i = 0; i < count; i++) {
      char kind = matching ? sig.charAt(i) : "pif?".charAt(data.consumeInt(0, 3));
      l.addArgs(switch (kind) {
        case 'p' -> KernelArg.newBuilder().setPtr(DevicePointer.newBuilder().setHandle(handle())
            .setOffset(data.consumeInt(0, 3) == 0 ? offset() : 0).setAccess(access())).build();
        case 'i' -> KernelArg.newBuilder().setI32(data.consumeInt(0, 3) == 0 ? data.consumeInt()
            : data.consumeInt(0, 64)).build();
        case 'f' -> KernelArg.newBuilder().setF32(data.consumeFloat()).build();
        default -> data.consumeBoolean() ? KernelArg.newBuilder().setI64(data.consumeLong()).build()
            : KernelArg.newBuilder().setF64(data.consumeDouble()).build();
      });
    }
    return l.build();
  }

  private LaunchRaw launchRaw() {
    int f = data.consumeInt(0, FUNCTIONS.size() - 1);
    String sig = SIGNATURES.get(f);
    int paramBytes = sig.length() * 8;
    LaunchRaw.Builder l = LaunchRaw.newBuilder().setModule(module()).setFunction(FUNCTIONS.get(f))
        .setGrid(dim(4)).setBlock(dim(64)).setDevice(data.consumeInt(0, 1))
        .setParams(ByteString.copyFrom(data.consumeBoolean() ? new byte[paramBytes]
            : data.consumeBytes(data.consumeInt(0, 80))));
    for (int i = 0; i < sig.length(); i++) {
      if (sig.charAt(i) == 'p' || data.consumeInt(0, 7) == 0) {
        l.addPointers(PointerSlot.newBuilder().setParamOffset(data.consumeInt(0, 7) == 0 ? data.consumeInt()
            : i * 8).setHandle(handle()).setHandleOffset(data.consumeInt(0, 3) == 0 ? offset() : 0)
            .setAccess(access()));
      }
    }
    return l.build();
  }

  private Access access() {
    return data.pickValue(new Access[] {Access.ACCESS_READ, Access.ACCESS_WRITE, Access.ACCESS_READ_WRITE,
        Access.ACCESS_UNSPECIFIED});
  }
}
