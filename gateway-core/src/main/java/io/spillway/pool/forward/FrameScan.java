package io.spillway.pool.forward;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.Arrays;

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
 *
 * <p>Counts are those protobuf's parser would give for the same bytes: an entry or a oneof member is
 * counted only with its declared wire type (protobuf keeps any other as an unknown field); of several
 * members of a oneof in one message the last wins; a message field given twice is merged, and a scalar
 * or bytes field given twice keeps its last value. Every scan is linear in the frame's size.
 */
public final class FrameScan {

  /** Field 1, length-delimited: {@code ClientFrame.ops} and {@code ServerFrame.replies}. */
  private static final int ENTRY = (1 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;
  /** Field 3, varint: {@code ReadData.last}. */
  private static final int LAST = (3 << 3) | WireFormat.WIRETYPE_VARINT;
  /** Field 2, length-delimited: {@code ReadData.data}. */
  private static final int DATA = (2 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;
  /** Field 1, varint: {@code Reply.seq} and {@code Op.seq}. */
  private static final int SEQ = (1 << 3) | WireFormat.WIRETYPE_VARINT;
  /** The members of {@code Op.kind} and of {@code Reply.kind}: all messages, fields 2 and up. */
  private static final int FIRST_KIND = 2;
  private static final int LAST_OP_KIND = 19;
  private static final int LAST_REPLY_KIND = 9;

  private FrameScan() {}

  /**
   * What a client frame holds.
   *
   * @param ops ops in the frame, or one more than the limit when the scan stopped there
   * @param synchronizing ops among them that wait for an answer (read, synchronize, close, get_global,
   *     event_elapsed)
   * @param synchronizingSeqs the sequence numbers of those ops, in order
   */
  public record ClientFacts(int ops, int synchronizing, long[] synchronizingSeqs) {
    public ClientFacts(int ops, int synchronizing) {
      this(ops, synchronizing, NO_SEQS);
    }
  }

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
   * @param highestSeq the highest sequence number of any reply in the frame, or -1: ops execute in
   *     order, so every op before it has been answered
   */
  public record ServerFacts(int replies, int errors, int answers, long answeredSeq, long[] errorSeqs,
      long readSeq, long readBytes, boolean readDone, long highestSeq) {
    public ServerFacts(int replies, int errors, int answers, long answeredSeq, long[] errorSeqs,
        long readSeq, long readBytes, boolean readDone) {
      this(replies, errors, answers, answeredSeq, errorSeqs, readSeq, readBytes, readDone,
          Math.max(answeredSeq, Math.max(readSeq, errorSeqs.length == 0 ? -1 : errorSeqs[errorSeqs.length - 1])));
    }
  }

  /** Counts a client frame's ops, stopping at one more than {@code max}; nothing is allocated per op. */
  public static int countOps(CodedInputStream in, int max) throws IOException {
    int ops = 0;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag == ENTRY && ++ops > max) {
        return ops;
      }
      in.skipField(tag);
    }
    return ops;
  }

  public static ClientFacts client(CodedInputStream in) throws IOException {
    return client(in, Integer.MAX_VALUE);
  }

  /** Scans a client frame; past {@code maxOps} ops it stops and reports {@code maxOps + 1}. */
  public static ClientFacts client(CodedInputStream in, int maxOps) throws IOException {
    int ops = 0;
    int sync = 0;
    long[] seqs = NO_SEQS;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag != ENTRY) {
        in.skipField(tag);
        continue;
      }
      if (++ops > maxOps) {
        return new ClientFacts(ops, sync, Arrays.copyOf(seqs, sync));
      }
      int limit = in.pushLimit(in.readRawVarint32());
      int kind = 0;
      long seq = 0;
      for (int t = in.readTag(); t != 0; t = in.readTag()) {
        int field = WireFormat.getTagFieldNumber(t);
        if (t == SEQ) {
          seq = in.readUInt64();
          continue;
        }
        if (field >= FIRST_KIND && field <= LAST_OP_KIND
            && WireFormat.getTagWireType(t) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          kind = field;
        }
        in.skipField(t);
      }
      in.popLimit(limit);
      if (kind == 6 || kind == 9 || kind == 10 || kind == 15 || kind == 17) {
        if (sync == seqs.length) {
          seqs = Arrays.copyOf(seqs, Math.max(8, seqs.length * 2));
        }
        seqs[sync++] = seq;
      }
    }
    return new ClientFacts(ops, sync, sync == seqs.length ? seqs : Arrays.copyOf(seqs, sync));
  }

  public static ServerFacts server(CodedInputStream in) throws IOException {
    int replies = 0;
    int errors = 0;
    int answers = 0;
    long answeredSeq = -1;
    long highestSeq = -1;
    long[] errorSeqs = NO_SEQS;
    long readSeq = -1;
    long readBytes = 0;
    boolean readDone = false;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag != ENTRY) {
        in.skipField(tag);
        continue;
      }
      replies++;
      int limit = in.pushLimit(in.readRawVarint32());
      long seq = 0;
      int kind = 0;
      // ReadData as protobuf merges it: the last data and the last flag win.
      long dataBytes = 0;
      boolean last = false;
      for (int t = in.readTag(); t != 0; t = in.readTag()) {
        int field = WireFormat.getTagFieldNumber(t);
        boolean member = field >= FIRST_KIND && field <= LAST_REPLY_KIND
            && WireFormat.getTagWireType(t) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
        if (t == SEQ) {
          seq = in.readUInt64();
        } else if (member && field == 3) {
          if (kind != 3) {
            dataBytes = 0;
            last = false;
          }
          kind = 3;
          int inner = in.pushLimit(in.readRawVarint32());
          for (int r = in.readTag(); r != 0; r = in.readTag()) {
            if (r == LAST) {
              last = in.readBool();
            } else if (r == DATA) {
              int n = in.readRawVarint32();
              dataBytes = n;
              in.skipRawBytes(n);
            } else {
              in.skipField(r);
            }
          }
          in.popLimit(inner);
        } else {
          if (member) {
            kind = field;
          }
          in.skipField(t);
        }
      }
      in.popLimit(limit);
      highestSeq = Math.max(highestSeq, seq);
      switch (kind) {
        case 5 -> {
          if (errors == errorSeqs.length) {
            errorSeqs = Arrays.copyOf(errorSeqs, Math.max(8, errorSeqs.length * 2));
          }
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
    }
    return new ServerFacts(replies, errors, answers, answeredSeq,
        errors == errorSeqs.length ? errorSeqs : Arrays.copyOf(errorSeqs, errors), readSeq, readBytes, readDone,
        highestSeq);
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
