package io.spillway.agent;

import io.airlift.compress.lz4.Lz4Decompressor;
import io.airlift.compress.zstd.ZstdDecompressor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A CUDA fat binary as nvcc embeds it: a 16-byte header (magic {@code 0xBA55ED50}, version 1, header size,
 * size of what follows) and then entries, each with its own header (kind 1 = PTX, 2 = ELF cubin; the
 * architecture; flags saying whether the payload is LZ4- or zstd-compressed) and payload.
 *
 * <p>Every length is checked against the image before it is used: a malformed image is refused with an
 * {@link IllegalArgumentException} naming the entry and the field, never read past its end.
 */
public final class Fatbin {

  public static final int MAGIC = 0xBA55ED50;
  public static final int KIND_PTX = 1;
  public static final int KIND_ELF = 2;
  static final long FLAG_LZ4 = 0x2000;
  static final long FLAG_ZSTD = 0x8000;
  /** No entry expands past this: a bound against decompression bombs. */
  static final int MAX_ENTRY_BYTES = 256 << 20;

  /**
   * One entry.
   *
   * @param kind    {@link #KIND_PTX} or {@link #KIND_ELF} (others are kept but unused)
   * @param arch    the SM version, for example 75 for {@code compute_75}/{@code sm_75}
   * @param payload the decompressed bytes; for PTX without trailing NULs
   */
  public record Entry(int kind, int arch, byte[] payload) {
    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }
  }

  private Fatbin() {
  }

  /** Whether {@code image} starts like a fat binary. */
  public static boolean isFatbin(byte[] image) {
    return image.length >= 16 && ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getInt(0) == MAGIC;
  }

  /** The entries of a fat binary image. */
  public static List<Entry> parse(byte[] image) {
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    if (image.length < 16 || b.getInt(0) != MAGIC) {
      throw new IllegalArgumentException("image of " + image.length + " bytes is not a fatbin (magic 0x"
          + (image.length >= 4 ? Integer.toHexString(b.getInt(0)) : "?") + ", expected 0xba55ed50)");
    }
    int headerSize = Short.toUnsignedInt(b.getShort(6));
    long size = b.getLong(8);
    if (headerSize < 16 || size < 0 || headerSize + size > image.length) {
      throw new IllegalArgumentException("fatbin header says " + headerSize + " + " + size
          + " bytes but the image has " + image.length);
    }
    List<Entry> entries = new ArrayList<>();
    long end = headerSize + size;
    int off = headerSize;
    int index = 0;
    while (off + 64 <= end) {
      int kind = Short.toUnsignedInt(b.getShort(off));
      int entryHeader = b.getInt(off + 4);
      long payloadSize = Integer.toUnsignedLong(b.getInt(off + 8));
      long compressedSize = Integer.toUnsignedLong(b.getInt(off + 16));
      int arch = b.getInt(off + 28);
      long flags = b.getLong(off + 40);
      long uncompressed = b.getLong(off + 56);
      if (entryHeader < 64 || off + (long) entryHeader + payloadSize > end) {
        throw new IllegalArgumentException("fatbin entry " + index + " at offset " + off + ": header "
            + entryHeader + " + payload " + payloadSize + " bytes overrun the image (" + end + ")");
      }
      int start = off + entryHeader;
      byte[] payload;
      if ((flags & (FLAG_LZ4 | FLAG_ZSTD)) != 0) {
        if (compressedSize > payloadSize || uncompressed <= 0 || uncompressed > MAX_ENTRY_BYTES) {
          throw new IllegalArgumentException("fatbin entry " + index + ": compressed " + compressedSize
              + " bytes of " + payloadSize + " expanding to " + uncompressed + " (at most " + MAX_ENTRY_BYTES + ")");
        }
        payload = new byte[(int) uncompressed];
        int n;
        try {
          if ((flags & FLAG_ZSTD) != 0) {
            n = new ZstdDecompressor().decompress(image, start, (int) compressedSize, payload, 0, payload.length);
          } else {
            n = new Lz4Decompressor().decompress(image, start, (int) compressedSize, payload, 0, payload.length);
          }
        } catch (RuntimeException e) {
          throw new IllegalArgumentException("fatbin entry " + index + ": "
              + ((flags & FLAG_ZSTD) != 0 ? "zstd" : "lz4") + " payload does not decompress: " + e.getMessage(), e);
        }
        if (n != payload.length) {
          byte[] cut = new byte[n];
          System.arraycopy(payload, 0, cut, 0, n);
          payload = cut;
        }
      } else {
        payload = new byte[(int) payloadSize];
        System.arraycopy(image, start, payload, 0, payload.length);
      }
      if (kind == KIND_PTX) {
        int len = payload.length;
        while (len > 0 && payload[len - 1] == 0) {
          len--;
        }
        if (len != payload.length) {
          byte[] cut = new byte[len];
          System.arraycopy(payload, 0, cut, 0, len);
          payload = cut;
        }
      }
      entries.add(new Entry(kind, arch, payload));
      off = start + (int) payloadSize;
      index++;
    }
    return entries;
  }

  /**
   * The PTX a node should run: of the PTX entries, the one for the highest architecture not above
   * {@code maxArch} (the card's compute capability as 10 * major + minor), else the lowest one.
   */
  public static String ptxFor(List<Entry> entries, int maxArch) {
    Entry best = null;
    Entry lowest = null;
    for (Entry e : entries) {
      if (e.kind() != KIND_PTX) {
        continue;
      }
      if (lowest == null || e.arch() < lowest.arch()) {
        lowest = e;
      }
      if (e.arch() <= maxArch && (best == null || e.arch() > best.arch())) {
        best = e;
      }
    }
    Entry chosen = best != null ? best : lowest;
    if (chosen == null) {
      StringBuilder kinds = new StringBuilder();
      for (Entry e : entries) {
        kinds.append(kinds.length() == 0 ? "" : ", ").append(e.kind() == KIND_ELF ? "sm_" : "kind " + e.kind() + " ")
            .append(e.arch());
      }
      throw new IllegalArgumentException("fatbin has no PTX entry (only " + kinds
          + "); build with PTX, for example nvcc -gencode arch=compute_75,code=compute_75");
    }
    return chosen.text();
  }
}
