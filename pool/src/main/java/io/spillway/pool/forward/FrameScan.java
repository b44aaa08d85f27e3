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
 * {@code synchronize = 9}, {@code close = 10}; {@code ServerFrame.replies = 1}, {@code Reply.read_data = 3}
 * ({@code ReadData.last = 3}), {@code synchronized = 4}, {@code error = 5}, {@code closed = 6}.
 */
public final class FrameScan {

  /** Field 1, length-delimited: {@code ClientFrame.ops} and {@code ServerFrame.replies}. */
  private static final int ENTRY = (1 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;
  /** Field 3, varint: {@code ReadData.last}. */
  private static final int LAST = (3 << 3) | WireFormat.WIRETYPE_VARINT;

  private FrameScan() {}

  /** What a client frame holds. */
  public record ClientFacts(int ops, int synchronizing) {}

  /** What a server frame holds. */
  public record ServerFacts(int replies, int errors, int answers) {}

  public static ClientFacts client(CodedInputStream in) throws IOException {
    int ops = 0;
    int sync = 0;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag == ENTRY) {
        ops++;
        int limit = in.pushLimit(in.readRawVarint32());
        for (int t = in.readTag(); t != 0; t = in.readTag()) {
          int field = WireFormat.getTagFieldNumber(t);
          if (field == 6 || field == 9 || field == 10) {
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
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag == ENTRY) {
        replies++;
        int limit = in.pushLimit(in.readRawVarint32());
        for (int t = in.readTag(); t != 0; t = in.readTag()) {
          int field = WireFormat.getTagFieldNumber(t);
          if (field == 5) {
            errors++;
            in.skipField(t);
          } else if (field == 4 || field == 6) {
            answers++;
            in.skipField(t);
          } else if (field == 3) {
            int inner = in.pushLimit(in.readRawVarint32());
            for (int r = in.readTag(); r != 0; r = in.readTag()) {
              if (r == LAST) {
                answers += in.readBool() ? 1 : 0;
              } else {
                in.skipField(r);
              }
            }
            in.popLimit(inner);
          } else {
            in.skipField(t);
          }
        }
        in.popLimit(limit);
      } else {
        in.skipField(tag);
      }
    }
    return new ServerFacts(replies, errors, answers);
  }
}
