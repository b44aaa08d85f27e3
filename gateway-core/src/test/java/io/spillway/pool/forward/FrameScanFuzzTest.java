package io.spillway.pool.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link FrameScan} reads frames in place without parsing them; what it reports must be what protobuf
 * parses from the same bytes, or the gateway's counts (ops, the answers it waits for, errors, read
 * progress) drift from what the node and the client see. For any bytes: when protobuf parses them as a
 * client (server) frame, the scan succeeds and agrees with the parsed frame; when protobuf refuses them,
 * the scan may refuse them too, but only with an {@link IOException}. Seeds: client and server frames of
 * every op and reply kind, and each finding's input.
 */
class FrameScanFuzzTest {

  @FuzzTest(maxDuration = "20s")
  void scanAgreesWithProtobuf(byte[] input) {
    clientFrame(input);
    serverFrame(input);
  }

  private static void clientFrame(byte[] input) {
    ClientFrame parsed;
    try {
      parsed = ClientFrame.parseFrom(input);
    } catch (InvalidProtocolBufferException e) {
      scanMayRefuse(() -> FrameScan.client(reader(input)));
      scanMayRefuse(() -> FrameScan.writesOnly(reader(input)));
      return;
    }
    FrameScan.ClientFacts facts = scan(() -> FrameScan.client(reader(input)));
    int sync = 0;
    boolean writesOnly = true;
    List<FrameScan.WriteFacts> writes = new ArrayList<>();
    for (Op op : parsed.getOpsList()) {
      switch (op.getKindCase()) {
        case READ, SYNCHRONIZE, CLOSE, GET_GLOBAL, EVENT_ELAPSED -> sync++;
        default -> { }
      }
      if (op.hasWrite()) {
        writes.add(new FrameScan.WriteFacts(op.getSeq(), op.getWrite().getHandle(), op.getWrite().getOffset(),
            op.getWrite().getData().size()));
      } else {
        writesOnly = false;
      }
    }
    assertEquals(parsed.getOpsCount(), facts.ops(), "ops");
    assertEquals(sync, facts.synchronizing(), "synchronizing ops");
    List<FrameScan.WriteFacts> scanned = scan(() -> FrameScan.writesOnly(reader(input)));
    // Null is always allowed (the gateway then copies the frame); a list must be the frame's writes.
    if (scanned != null) {
      assertEquals(true, writesOnly, "writes only, but the frame holds other ops: " + parsed);
      assertEquals(writes, scanned, "writes");
    }
  }

  private static void serverFrame(byte[] input) {
    ServerFrame parsed;
    try {
      parsed = ServerFrame.parseFrom(input);
    } catch (InvalidProtocolBufferException e) {
      scanMayRefuse(() -> FrameScan.server(reader(input)));
      return;
    }
    FrameScan.ServerFacts facts = scan(() -> FrameScan.server(reader(input)));
    int errors = 0;
    int answers = 0;
    long answeredSeq = -1;
    List<Long> errorSeqs = new ArrayList<>();
    long readSeq = -1;
    long readBytes = 0;
    boolean readDone = false;
    for (Reply r : parsed.getRepliesList()) {
      switch (r.getKindCase()) {
        case ERROR -> {
          errors++;
          errorSeqs.add(r.getSeq());
        }
        case SYNCHRONIZED, CLOSED, GLOBAL_INFO, ELAPSED -> {
          answers++;
          answeredSeq = Math.max(answeredSeq, r.getSeq());
        }
        case READ_DATA -> {
          if (r.getSeq() != readSeq) {
            readSeq = r.getSeq();
            readBytes = 0;
          }
          readBytes += r.getReadData().getData().size();
          readDone = r.getReadData().getLast();
          if (readDone) {
            answers++;
            answeredSeq = Math.max(answeredSeq, r.getSeq());
          }
        }
        default -> { }
      }
    }
    String frame = parsed.toString();
    assertEquals(parsed.getRepliesCount(), facts.replies(), "replies in " + frame);
    assertEquals(errors, facts.errors(), "errors in " + frame);
    assertArrayEquals(errorSeqs.stream().mapToLong(Long::longValue).toArray(), facts.errorSeqs(),
        "error seqs in " + frame);
    assertEquals(answers, facts.answers(), "answers in " + frame);
    assertEquals(answeredSeq, facts.answeredSeq(), "answered seq in " + frame);
    assertEquals(readSeq, facts.readSeq(), "read seq in " + frame);
    if (readSeq >= 0) {
      assertEquals(readBytes, facts.readBytes(), "read bytes in " + frame);
      assertEquals(readDone, facts.readDone(), "read done in " + frame);
    }
  }

  private interface Scan<T> {
    T run() throws IOException;
  }

  private static <T> T scan(Scan<T> scan) {
    try {
      return scan.run();
    } catch (IOException e) {
      throw new AssertionError("protobuf parses the frame but the scan refused it: " + e, e);
    }
  }

  private static void scanMayRefuse(Scan<?> scan) {
    try {
      scan.run();
    } catch (IOException refused) {
      // Bytes protobuf refuses too.
    }
  }

  private static CodedInputStream reader(byte[] input) throws IOException {
    return RawFrame.MARSHALLER.parse(new java.io.ByteArrayInputStream(input)).reader();
  }
}
