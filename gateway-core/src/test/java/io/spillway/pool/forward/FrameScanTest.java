package io.spillway.pool.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Error;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.ReadData;
import io.spillway.protocol.v1.Reply;
import io.spillway.protocol.v1.ServerFrame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** FrameScan's counts are those protobuf's parser gives for the same bytes, including odd encodings. */
class FrameScanTest {

  /** What the scan should say, computed from protobuf's own parse. */
  private static FrameScan.ServerFacts expected(ServerFrame f) {
    int errors = 0;
    int answers = 0;
    long answered = -1;
    long highest = -1;
    long readSeq = -1;
    long readBytes = 0;
    boolean readDone = false;
    java.util.List<Long> errorSeqs = new java.util.ArrayList<>();
    for (Reply r : f.getRepliesList()) {
      highest = Math.max(highest, r.getSeq());
      switch (r.getKindCase()) {
        case ERROR -> {
          errors++;
          errorSeqs.add(r.getSeq());
        }
        case SYNCHRONIZED, CLOSED, GLOBAL_INFO, ELAPSED -> {
          answers++;
          answered = Math.max(answered, r.getSeq());
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
            answered = Math.max(answered, r.getSeq());
          }
        }
        default -> { }
      }
    }
    return new FrameScan.ServerFacts(f.getRepliesCount(), errors, answers, answered,
        errorSeqs.stream().mapToLong(Long::longValue).toArray(), readSeq, readBytes, readDone, highest);
  }

  private static void assertSame(byte[] bytes) throws IOException {
    ServerFrame parsed = ServerFrame.parseFrom(bytes);
    FrameScan.ServerFacts want = expected(parsed);
    FrameScan.ServerFacts got = FrameScan.server(CodedInputStream.newInstance(bytes));
    assertEquals(want.replies(), got.replies(), "replies");
    assertEquals(want.errors(), got.errors(), "errors");
    assertEquals(want.answers(), got.answers(), "answers");
    assertEquals(want.answeredSeq(), got.answeredSeq(), "answeredSeq");
    assertArrayEquals(want.errorSeqs(), got.errorSeqs(), "errorSeqs");
    assertEquals(want.readSeq(), got.readSeq(), "readSeq");
    assertEquals(want.readBytes(), got.readBytes(), "readBytes");
    assertEquals(want.readDone(), got.readDone(), "readDone");
    assertEquals(want.highestSeq(), got.highestSeq(), "highestSeq");
  }

  /** One reply written field by field, so a test can give oneof members twice or with odd wire types. */
  private static byte[] reply(Object... fields) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(body);
    for (int i = 0; i < fields.length; i += 2) {
      int field = (Integer) fields[i];
      Object v = fields[i + 1];
      if (v instanceof Long l) {
        out.writeUInt64(field, l);
      } else if (v instanceof com.google.protobuf.MessageLite m) {
        out.writeMessage(field, m);
      } else if (v instanceof byte[] b) {
        out.writeByteArray(field, b);
      }
    }
    out.flush();
    ByteArrayOutputStream frame = new ByteArrayOutputStream();
    CodedOutputStream f = CodedOutputStream.newInstance(frame);
    f.writeByteArray(1, body.toByteArray());
    f.flush();
    return frame.toByteArray();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private static ReadData data(int bytes, boolean last) {
    return ReadData.newBuilder().setData(ByteString.copyFrom(new byte[bytes])).setLast(last).build();
  }

  @Test
  void theLastOneofMemberWinsAsInProtobuf() throws IOException {
    Error err = Error.newBuilder().setCode(5).build();
    // An error, then synchronized, in one reply: protobuf keeps synchronized.
    assertSame(reply(1, 7L, 5, err, 4, io.spillway.protocol.v1.Synchronized.getDefaultInstance()));
    // Synchronized, then an error: the error.
    assertSame(reply(1, 8L, 4, io.spillway.protocol.v1.Synchronized.getDefaultInstance(), 5, err));
    // Read data, then opened (field 2): not a read any more.
    assertSame(reply(1, 9L, 3, data(100, true), 2, io.spillway.protocol.v1.Opened.getDefaultInstance()));
  }

  @Test
  void aMessageGivenTwiceIsMergedAndItsBytesFieldKeepsTheLastValue() throws IOException {
    assertSame(reply(1, 3L, 3, data(100, false), 3, data(40, true)));
    assertSame(reply(1, 3L, 3, data(100, true), 3, ReadData.newBuilder().setOffset(5).build()));
  }

  @Test
  void fieldsWithAnotherWireTypeAreUnknownFields() throws IOException {
    // Field 5 (error) as a varint, field 1 of the frame as a varint: both unknown to protobuf.
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(body);
    out.writeUInt64(1, 4);
    out.writeUInt64(5, 1);
    out.flush();
    ByteArrayOutputStream frame = new ByteArrayOutputStream();
    CodedOutputStream f = CodedOutputStream.newInstance(frame);
    f.writeByteArray(1, body.toByteArray());
    f.writeUInt64(1, 99);
    f.flush();
    assertSame(frame.toByteArray());
  }

  @Test
  void randomFramesScanAsTheyParse() throws IOException {
    Random random = new Random(15);
    for (int round = 0; round < 300; round++) {
      ServerFrame.Builder b = ServerFrame.newBuilder();
      for (int i = 0, n = random.nextInt(20); i < n; i++) {
        Reply.Builder r = Reply.newBuilder().setSeq(random.nextInt(50));
        switch (random.nextInt(5)) {
          case 0 -> r.setError(Error.newBuilder().setCode(3));
          case 1 -> r.setReadData(data(random.nextInt(64), random.nextBoolean()));
          case 2 -> r.setSynchronized(io.spillway.protocol.v1.Synchronized.getDefaultInstance());
          case 3 -> r.setClosed(io.spillway.protocol.v1.Closed.getDefaultInstance());
          default -> r.setOpened(io.spillway.protocol.v1.Opened.getDefaultInstance());
        }
        b.addReplies(r);
      }
      assertSame(b.build().toByteArray());
    }
  }

  @Test
  void manyErrorsInOneFrameAreAllCounted() throws IOException {
    ServerFrame.Builder b = ServerFrame.newBuilder();
    for (int i = 1; i <= 100_000; i++) {
      b.addReplies(Reply.newBuilder().setSeq(i).setError(Error.newBuilder().setCode(5)));
    }
    assertSame(b.build().toByteArray());
  }

  @Test
  void clientCountsMatchTheParseAndStopPastTheLimit() throws IOException {
    ClientFrame.Builder b = ClientFrame.newBuilder();
    for (int i = 1; i <= 10; i++) {
      Op.Builder op = Op.newBuilder().setSeq(i);
      if (i % 3 == 0) {
        op.setRead(io.spillway.protocol.v1.Read.newBuilder().setHandle(1));
      } else {
        op.setAlloc(io.spillway.protocol.v1.Alloc.newBuilder().setHandle(i));
      }
      b.addOps(op);
    }
    byte[] bytes = b.build().toByteArray();
    // A read, then an alloc, in op 11: protobuf keeps the alloc, which waits for nothing.
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(body);
    out.writeUInt64(1, 11);
    out.writeMessage(6, io.spillway.protocol.v1.Read.newBuilder().setHandle(1).build());
    out.writeMessage(3, io.spillway.protocol.v1.Alloc.newBuilder().setHandle(11).build());
    out.flush();
    ByteArrayOutputStream extra = new ByteArrayOutputStream();
    CodedOutputStream e = CodedOutputStream.newInstance(extra);
    e.writeTag(1, WireFormat.WIRETYPE_LENGTH_DELIMITED);
    e.writeUInt32NoTag(body.size());
    e.flush();
    extra.writeBytes(body.toByteArray());
    byte[] all = concat(bytes, extra.toByteArray());
    ClientFrame parsed = ClientFrame.parseFrom(all);
    long[] syncSeqs = parsed.getOpsList().stream().filter(Op::hasRead).mapToLong(Op::getSeq).toArray();
    FrameScan.ClientFacts facts = FrameScan.client(CodedInputStream.newInstance(all));
    assertEquals(parsed.getOpsCount(), facts.ops());
    assertEquals(syncSeqs.length, facts.synchronizing());
    assertArrayEquals(syncSeqs, facts.synchronizingSeqs());
    assertEquals(6, FrameScan.countOps(CodedInputStream.newInstance(all), 5));
    assertEquals(11, FrameScan.countOps(CodedInputStream.newInstance(all), 100));
  }
}
