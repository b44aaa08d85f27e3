package io.spillway.pool.session;

import io.grpc.Status;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.Synchronize;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which server of a spanning session each op goes to (see {@link SpanningRoute}): {@code alloc} and
 * {@code launch} to the server of their device, renumbered to its own index; {@code write}, {@code fill},
 * {@code memset}, {@code copy} (both handles on one server, else refused), {@code read} and {@code free} to the
 * server holding the handle; {@code launch_raw} and {@code get_global} to the server of their device; events
 * are refused (the servers' clocks do not compare) (an unknown handle to the first, which
 * answers {@code NOT_FOUND}); everything else to every server, a {@code read} paired with a
 * {@code synchronize} on the others. Remembers which server holds each buffer. Not thread-safe.
 */
final class SpanningOps {
  /** What the route must know of the ops it sends. */
  interface Expect {
    /** A synchronizing op, which every leg will answer. */
    void expect(long seq, Reply.KindCase kind);

    /** A pipelined op sent to every leg: the client gets at most one error for it. */
    void everyLeg(long seq);

    /** An op no leg gets: the route answers it with this error, in sequence order. */
    void refuse(Op op, Status.Code code, String description);
  }

  private final int legs;
  private final int[] legOfDevice;
  private final int[] localIndex;
  private final Map<Long, Integer> bufferLeg = new HashMap<>();

  /** @param legOfDevice the leg of each session device; localIndex its index on that leg's server */
  SpanningOps(int legs, int[] legOfDevice, int[] localIndex) {
    this.legs = legs;
    this.legOfDevice = legOfDevice;
    this.localIndex = localIndex;
  }

  /** The ops for each leg, in leg order; legs with nothing to do get an empty builder. */
  List<ClientFrame.Builder> split(List<Op> ops, Expect expect) {
    List<ClientFrame.Builder> out = new ArrayList<>();
    for (int i = 0; i < legs; i++) {
      out.add(ClientFrame.newBuilder());
    }
    for (Op op : ops) {
      switch (op.getKindCase()) {
        case ALLOC -> {
          int d = op.getAlloc().getDevice();
          if (d >= legOfDevice.length) {
            out.get(0).addOps(op); // the node refuses the device index with INVALID_ARGUMENT
          } else {
            bufferLeg.put(op.getAlloc().getHandle(), legOfDevice[d]);
            out.get(legOfDevice[d]).addOps(op.toBuilder().setAlloc(op.getAlloc().toBuilder().setDevice(localIndex[d])));
          }
        }
        case LAUNCH -> {
          int d = op.getLaunch().getDevice();
          if (d >= legOfDevice.length) {
            out.get(0).addOps(op);
          } else {
            out.get(legOfDevice[d]).addOps(op.toBuilder().setLaunch(op.getLaunch().toBuilder().setDevice(localIndex[d])));
          }
        }
        case WRITE -> out.get(legOf(op.getWrite().getHandle())).addOps(op);
        case FILL -> out.get(legOf(op.getFill().getHandle())).addOps(op);
        case MEMSET -> out.get(legOf(op.getMemset().getHandle())).addOps(op);
        case COPY -> {
          int leg = legOf(op.getCopy().getDst());
          if (leg != legOf(op.getCopy().getSrc())) {
            expect.refuse(op, Status.Code.INVALID_ARGUMENT, "copy (seq " + op.getSeq() + "): handles "
                + op.getCopy().getSrc() + " and " + op.getCopy().getDst() + " are on different GPU servers of"
                + " this session; a copy stays on one server");
          } else {
            out.get(leg).addOps(op);
          }
        }
        case LAUNCH_RAW -> {
          int d = op.getLaunchRaw().getDevice();
          if (d >= legOfDevice.length) {
            out.get(0).addOps(op);
          } else {
            out.get(legOfDevice[d]).addOps(op.toBuilder().setLaunchRaw(op.getLaunchRaw().toBuilder()
                .setDevice(localIndex[d])));
          }
        }
        case GET_GLOBAL -> {
          int d = op.getGetGlobal().getDevice();
          if (d >= legOfDevice.length) {
            out.get(0).addOps(op);
          } else {
            // Answered by that leg alone: its reply is ordered like a pipelined op's error.
            bufferLeg.put(op.getGetGlobal().getHandle(), legOfDevice[d]);
            out.get(legOfDevice[d]).addOps(op.toBuilder().setGetGlobal(op.getGetGlobal().toBuilder()
                .setDevice(localIndex[d])));
          }
        }
        case EVENT_RECORD, EVENT_ELAPSED, EVENT_FREE -> expect.refuse(op, Status.Code.UNIMPLEMENTED,
            op.getKindCase().name().toLowerCase(Locale.ROOT) + " (seq " + op.getSeq() + "): events"
                + " are not supported in a session whose GPUs span servers (their clocks do not compare)");
        case FREE -> {
          Integer leg = bufferLeg.remove(op.getFree().getHandle());
          if (leg != null) {
            out.get(leg).addOps(op);
          } else {
            expect.everyLeg(op.getSeq());
            out.forEach(b -> b.addOps(op)); // a module handle, known to every leg
          }
        }
        case READ -> {
          int owner = legOf(op.getRead().getHandle());
          expect.expect(op.getSeq(), Reply.KindCase.READ_DATA);
          for (int i = 0; i < legs; i++) {
            out.get(i).addOps(i == owner ? op
                : Op.newBuilder().setSeq(op.getSeq()).setSynchronize(Synchronize.getDefaultInstance()).build());
          }
        }
        case SYNCHRONIZE -> {
          expect.expect(op.getSeq(), Reply.KindCase.SYNCHRONIZED);
          out.forEach(b -> b.addOps(op));
        }
        case CLOSE -> {
          expect.expect(op.getSeq(), Reply.KindCase.CLOSED);
          out.forEach(b -> b.addOps(op));
        }
        default -> {
          expect.everyLeg(op.getSeq());
          out.forEach(b -> b.addOps(op)); // load_module everywhere; bad ops get each node's error, once
        }
      }
    }
    return out;
  }

  private int legOf(long handle) {
    return bufferLeg.getOrDefault(handle, 0);
  }
}
