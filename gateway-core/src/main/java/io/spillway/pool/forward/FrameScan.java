package io.spillway.pool.forward;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;

/**
 * Reads the tags of a frame, skipping payloads, to learn what the gateway needs without parsing:
 * how many ops a client frame holds and whether one of them waits for an answer; how many replies a
 * server frame holds, how many are errors, and how many answer a synchronizing op.
 *
 * <p>Field numbers are those of {@code session.proto}: {@code ClientFrame.ops = 1}, {@code Op.read = 6},
 * {@code synchronize = 9}, {@code close = 10}, {@code get_global = 15}, {@code event_elapsed = 17};
 * {@code ServerFrame.replies = 1}, {@code Reply.read_data = 3} ({@code ReadData.last = 3}),
 * {@code synchronized = 4}, {@code error = 5}, {@code closed = 6}, {@code global_info = 8},
 * {@code elapsed = 9}.
 */
public final class FrameScan {

  /** Field 1, length-delimited: {@code ClientFrame.ops} and {@code ServerFrame.replies}. */
  private static final int ENTRY = (1 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;
  /** Field 3, varint: {@code ReadData.last}. */
  private static final int LAST = (3 << 3) | WireFormat.WIRETYPE_VARINT;
  /** Field 2, length-delimited: {@code ReadData.data}. */
  private static final int DATA = (2 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;
  /** Field 1, varint: {@code Reply.seq}. */
  private static final int SEQ = (1 << 3) | WireFormat.WIRETYPE_VARINT;

  private FrameScan() {}

  /** What a client frame holds. */
  public record ClientFacts(int ops, int synchronizing) {}

  private static final long[] NO_SEQS = new long[0];

  /**
   * What a server frame holds.
   *
   * @param replies replies in the frame
   * @param errors error replies among them
   * @param answers replies that complete a synchronizing op (synchronized, closed, global_info, elapsed,
   *     the last ReadData)
   * @param answeredSeq the highest sequence number among those answers, or -1
   * @param errorSeqs the sequence numbers of the error replies, in order
   * @param readSeq the sequence number of the last ReadData reply in the frame, or -1
   * @param readBytes data bytes of the ReadData replies for {@code readSeq} in this frame
   * @param readDone whether the last ReadData reply for {@code readSeq} is marked last
   */
  public record ServerFacts(int replies, int errors, int answers, long answeredSeq, long[] errorSeqs,
      long readSeq, long readBytes, boolean readDone) {}

  public static ClientFacts client(CodedInputStream in) throws IOException {
    int ops = 0;
    int sync = 0;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag == ENTRY) {
        ops++;
        int limit = in.pushLimit(in.readRawVarint32());
        for (int t = in.readTag(); t != 0; t = in.readTag()) {
          int field = WireFormat.getTagFieldNumber(t);
          if (field == 6 || field == 9 || field == 10 || field == 15 || field == 17) {
            sync++;
          }
          in.skipField(t);
        }
        in.popLimit(limit);
      } else {
        in.skipField(tag);
      }
    }
    return new ClientFacts(ops, sync);
  }

  public static ServerFacts server(CodedInputStream in) throws IOException {
    int replies = 0;
    int errors = 0;
    int answers = 0;
    long answeredSeq = -1;
    long[] errorSeqs = NO_SEQS;
    long readSeq = -1;
    long readBytes = 0;
    boolean readDone = false;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag == ENTRY) {
        replies++;
        int limit = in.pushLimit(in.readRawVarint32());
        long seq = 0;
        int kind = 0;
        long dataBytes = 0;
        boolean last = false;
        for (int t = in.readTag(); t != 0; t = in.readTag()) {
          int field = WireFormat.getTagFieldNumber(t);
          if (t == SEQ) {
            seq = in.readUInt64();
          } else if (field == 3) {
            kind = 3;
            int inner = in.pushLimit(in.readRawVarint32());
            for (int r = in.readTag(); r != 0; r = in.readTag()) {
              if (r == LAST) {
                last = in.readBool();
              } else if (r == DATA) {
                int n = in.readRawVarint32();
                dataBytes += n;
                in.skipRawBytes(n);
              } else {
                in.skipField(r);
              }
            }
            in.popLimit(inner);
          } else {
            if (field == 4 || field == 5 || field == 6 || field == 8 || field == 9) {
              kind = field;
            }
            in.skipField(t);
          }
        }
        in.popLimit(limit);
        switch (kind) {
          case 5 -> {
            errorSeqs = java.util.Arrays.copyOf(errorSeqs, errors + 1);
            errorSeqs[errors++] = seq;
          }
          case 4, 6, 8, 9 -> {
            answers++;
            answeredSeq = Math.max(answeredSeq, seq);
          }
          case 3 -> {
            if (seq != readSeq) {
              readSeq = seq;
              readBytes = 0;
            }
            readBytes += dataBytes;
            readDone = last;
            if (last) {
              answers++;
              answeredSeq = Math.max(answeredSeq, seq);
            }
          }
          default -> { }
        }
      } else {
        in.skipField(tag);
      }
    }
    return new ServerFacts(replies, errors, answers, answeredSeq, errorSeqs, readSeq, readBytes, readDone);
  }

  /** A write op seen without copying its data. */
  public record WriteFacts(long seq, long handle, long offset, long length) {}

  /**
   * The ops of a client frame that holds only writes (a bulk upload), read in place; null if the frame
   * holds any other op.
   */
  public static java.util.List<WriteFacts> writesOnly(CodedInputStream in) throws IOException {
    java.util.List<WriteFacts> out = new java.util.ArrayList<>();
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag != ENTRY) {
        in.skipField(tag);
        continue;
      }
      int limit = in.pushLimit(in.readRawVarint32());
      long seq = 0;
      boolean write = false;
      long handle = 0;
      long offset = 0;
      long length = 0;
      for (int t = in.readTag(); t != 0; t = in.readTag()) {
        int field = WireFormat.getTagFieldNumber(t);
        if (t == SEQ) {
          seq = in.readUInt64();
        } else if (field == 5 && WireFormat.getTagWireType(t) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          write = true;
          int inner = in.pushLimit(in.readRawVarint32());
          for (int w = in.readTag(); w != 0; w = in.readTag()) {
            switch (w) {
              case (1 << 3) -> handle = in.readUInt64();
              case (2 << 3) -> offset = in.readUInt64();
              case (3 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED -> {
                int n = in.readRawVarint32();
                length += n;
                in.skipRawBytes(n);
              }
              default -> in.skipField(w);
            }
          }
          in.popLimit(inner);
        } else {
          return null;
        }
      }
      in.popLimit(limit);
      if (!write) {
        return null;
      }
      out.add(new WriteFacts(seq, handle, offset, length));
    }
    return out;
  }
}
