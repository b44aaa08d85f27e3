package io.spillway.pool.session;

import io.grpc.Status;
import io.spillway.protocol.v1.Closed;
import io.spillway.protocol.v1.DeviceInfo;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Opened;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import io.spillway.protocol.v1.Synchronized;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;

/**
 * The answers of a spanning session's legs merged into one stream in sequence order, as one node would
 * answer (see {@link SpanningRoute}).
 *
 * <p>A synchronizing op is answered once every leg has answered it (the first error wins; failed-op
 * counts add up; the opens' devices are renumbered into the session's order); replies with a higher
 * sequence number are held until then. A read at the head streams: once every other leg has answered
 * its barrier, its chunks go to the client as they come. A pipelined op sent to every leg gets at most
 * one error.
 *
 * <p>Not thread-safe: used only on its session's serializing executor, by its route.
 */
final class SpanningReplies implements SpanningOps.Expect {

  /** Where the merged stream goes. */
  interface Out {
    /** Replies for the client, in order, as one frame. */
    void send(List<Reply> replies);

    /** The legs' opens merged into the session's one answer, before it is sent. */
    void opened(Opened merged);
  }

  /** Answers awaited for one synchronizing op, one per leg. */
  private static final class Pending {
    int awaiting;
    final List<Reply> data = new ArrayList<>();
    final List<DeviceInfo> devices = new ArrayList<>();
    Opened opened;
    Reply error;
    long failedOps;
    Reply.KindCase kind;
    /** A read whose last chunk came. */
    boolean dataDone;
  }

  private record HeldReply(long seq, long order, Reply reply) implements Comparable<HeldReply> {
    @Override
    public int compareTo(HeldReply o) {
      int c = Long.compare(seq, o.seq);
      return c != 0 ? c : Long.compare(order, o.order);
    }
  }

  private final String sessionId;
  private final List<String> legNodes;
  private final int[] legOfDevice;
  private final int[] localIndex;
  private final Out out;
  private final TreeMap<Long, Pending> pending = new TreeMap<>();
  /**
   * Replies no earlier answer holds back yet, in seq order (and in arrival order within a seq): a heap,
   * so that holding and releasing n replies costs n log n, not a sort per frame.
   */
  private final PriorityQueue<HeldReply> held = new PriorityQueue<>();
  private long heldCount;
  /**
   * Pipelined ops sent to every leg (load_module, free of a module, ops the legs refuse), by seq: true once
   * one leg's error for it went to the client. The client gets one answer per op, and failed_ops counts
   * the op once, however many legs refuse it. Entries go when a later synchronizing op completes, since
   * each leg answers in op order.
   */
  private final TreeMap<Long, Boolean> everyLeg = new TreeMap<>();
  /** Per leg: its errors for ops sent to every leg that another leg had answered first (not forwarded). */
  private final long[] duplicateErrors;

  /**
   * @param legNodes the node of each leg
   * @param legOfDevice the leg of each session device; localIndex its index on that leg's server
   */
  SpanningReplies(String sessionId, List<String> legNodes, int[] legOfDevice, int[] localIndex, Out out) {
    this.sessionId = sessionId;
    this.legNodes = List.copyOf(legNodes);
    this.legOfDevice = legOfDevice;
    this.localIndex = localIndex;
    this.out = out;
    this.duplicateErrors = new long[legNodes.size()];
  }

  /** Whether a synchronizing op (the open included) still waits for some leg's answer. */
  boolean awaitsAnswers() {
    return !pending.isEmpty();
  }

  @Override
  public void expect(long seq, Reply.KindCase kind) {
    Pending p = new Pending();
    p.awaiting = legNodes.size();
    p.kind = kind;
    pending.put(seq, p);
  }

  @Override
  public void everyLeg(long seq) {
    everyLeg.put(seq, false);
  }

  /** Answers an op here, in sequence order with the legs' replies. */
  @Override
  public void refuse(Op op, Status.Code code, String description) {
    answerHere(Reply.newBuilder().setSeq(op.getSeq()).setError(Error.newBuilder()
        .setCode(code.value()).setOp(op.getKindCase().name().toLowerCase(Locale.ROOT))
        .setDescription(description)).build());
  }

  /** Sends {@code reply}, made here, once no earlier answer holds it back. */
  void answerHere(Reply reply) {
    hold(reply);
    release();
  }

  /**
   * Takes one frame of leg {@code leg}'s answers.
   *
   * @return null, or the status to end the session with when the leg refused the open (its refusal has
   *     been sent to the client)
   */
  Status fromLeg(int leg, ServerFrame frame) {
    for (Reply r : frame.getRepliesList()) {
      Pending p = pending.get(r.getSeq());
      if (p == null && r.hasError() && everyLeg.containsKey(r.getSeq())) {
        if (everyLeg.put(r.getSeq(), true)) {
          duplicateErrors[leg]++;
          continue;
        }
      }
      if (p == null || r.getSeq() == 0) {
        hold(r);
        continue;
      }
      switch (r.getKindCase()) {
        case OPENED -> {
          p.opened = p.opened == null ? r.getOpened() : p.opened;
          p.devices.addAll(r.getOpened().getDevicesList());
          p.awaiting--;
        }
        case READ_DATA -> {
          p.data.add(r);
          if (r.getReadData().getLast()) {
            p.dataDone = true;
            p.awaiting--;
          }
        }
        case SYNCHRONIZED -> {
          p.failedOps += r.getSynchronized().getFailedOps() - duplicateErrors[leg];
          p.awaiting--;
        }
        case CLOSED -> p.awaiting--;
        case ERROR -> {
          if (p.error == null) {
            p.error = r;
          }
          p.awaiting--;
          if (r.getError().getFatal() && p.kind == Reply.KindCase.OPENED) {
            // A leg refused the open: the whole session is refused with its answer.
            out.send(List.of(r));
            return Status.fromCodeValue(r.getError().getCode()).withDescription(r.getError().getDescription());
          }
        }
        default -> hold(r);
      }
    }
    release();
    return null;
  }

  private void hold(Reply r) {
    held.add(new HeldReply(r.getSeq(), heldCount++, r));
  }

  /**
   * Sends, in sequence order, every answer that is complete and every reply no earlier answer holds back.
   * A read at the head streams, so the gateway holds at most what arrived before its barriers were
   * answered.
   */
  private void release() {
    List<Reply> ready = new ArrayList<>();
    while (true) {
      Map.Entry<Long, Pending> head = pending.firstEntry();
      long barrier = head == null ? Long.MAX_VALUE : head.getKey();
      while (!held.isEmpty() && held.peek().seq() < barrier) {
        ready.add(held.poll().reply());
      }
      if (head != null && head.getValue().awaiting == 1 && head.getValue().kind == Reply.KindCase.READ_DATA
          && !head.getValue().dataDone && head.getValue().error == null) {
        ready.addAll(head.getValue().data);
        head.getValue().data.clear();
        break;
      }
      if (head == null || head.getValue().awaiting > 0) {
        break;
      }
      pending.pollFirstEntry();
      everyLeg.headMap(head.getKey()).clear();
      ready.addAll(answer(head.getKey(), head.getValue()));
    }
    if (!ready.isEmpty()) {
      out.send(ready);
    }
  }

  private List<Reply> answer(long seq, Pending p) {
    if (p.error != null) {
      return List.of(p.error);
    }
    return switch (p.kind) {
      case OPENED -> {
        Opened.Builder merged = p.opened.toBuilder().setSessionId(sessionId).clearDevices();
        // Devices in the session's order: leg by leg, as placement numbered them.
        for (int d = 0; d < legOfDevice.length; d++) {
          String node = legNodes.get(legOfDevice[d]);
          int local = localIndex[d];
          int session = d;
          p.devices.stream().filter(x -> x.getNode().equals(node) && x.getIndex() == local).findFirst()
              .ifPresent(x -> merged.addDevices(x.toBuilder().setIndex(session)));
        }
        out.opened(merged.build());
        yield List.of(Reply.newBuilder().setSeq(seq).setOpened(merged).build());
      }
      case READ_DATA -> p.data;
      case SYNCHRONIZED -> List.of(Reply.newBuilder().setSeq(seq).setSynchronized(
          Synchronized.newBuilder().setFailedOps(p.failedOps)).build());
      default -> List.of(Reply.newBuilder().setSeq(seq).setClosed(Closed.getDefaultInstance()).build());
    };
  }
}
