package io.spillway.node.driver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Kernel parameter layouts from a cubin (an ELF image built by {@code nvcc -cubin}), for images that
 * carry no PTX: each kernel {@code k} has a section {@code .nv.info.k} of attributes, among them one
 * {@code EIATTR_KPARAM_INFO} per parameter giving its ordinal, its offset in the parameter buffer and
 * its size. A cubin says nothing of a parameter's type, only its size, so 4-byte parameters are
 * {@link KernelSignature.ParamType#W32}, 8-byte ones {@link KernelSignature.ParamType#W64}, 1- and
 * 2-byte ones {@link KernelSignature.ParamType#OTHER} and every other size {@link
 * KernelSignature.ParamType#BYTES} (a struct by value).
 *
 * <p>Attribute encoding (as nvcc writes it; checked against {@code nvinfo/params.cubin} in the tests):
 * one byte of format, one of attribute; format {@code EIFMT_SVAL} (4) is followed by a 16-bit length and
 * that many bytes, every other format by a 16-bit value. A {@code KPARAM_INFO} (0x17) value is a 32-bit
 * index, a 16-bit ordinal, a 16-bit offset and a 32-bit word whose top 14 bits are the size in bytes.
 */
public final class NvInfo {

  private static final int EIFMT_SVAL = 4;
  private static final int EIATTR_KPARAM_INFO = 0x17;
  private static final String PREFIX = ".nv.info.";

  private NvInfo() {}

  /** True when {@code image} starts like an ELF file. */
  public static boolean isElf(byte[] image) {
    return image.length >= 4 && image[0] == 0x7f && image[1] == 'E' && image[2] == 'L' && image[3] == 'F';
  }

  /**
   * The signature of every kernel that has a {@code .nv.info.<kernel>} section, by name.
   *
   * @throws DriverException INVALID when the image is not a 64-bit little-endian ELF file, or its
   *     sections or attributes run past their bounds, or a kernel's parameters do not add up (a gap in
   *     the ordinals, overlapping offsets)
   */
  public static Map<String, KernelSignature> parse(byte[] image, String name) throws DriverException {
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    if (!isElf(image) || image.length < 64 || image[4] != 2 || image[5] != 1) {
      throw invalid(name, "is not a 64-bit little-endian ELF cubin");
    }
    long shoff = b.getLong(0x28);
    int shentsize = Short.toUnsignedInt(b.getShort(0x3a));
    int shnum = Short.toUnsignedInt(b.getShort(0x3c));
    int shstrndx = Short.toUnsignedInt(b.getShort(0x3e));
    if (shentsize < 64 || shstrndx >= shnum || shoff < 0 || shoff + (long) shnum * shentsize > image.length) {
      throw invalid(name, "has section headers outside the file");
    }
    long[][] sections = new long[shnum][];
    for (int i = 0; i < shnum; i++) {
      int o = (int) (shoff + (long) i * shentsize);
      long nameOff = Integer.toUnsignedLong(b.getInt(o));
      long off = b.getLong(o + 0x18);
      long size = b.getLong(o + 0x20);
      int type = b.getInt(o + 4);
      // SHT_NOBITS (8) occupies no bytes of the file.
      if (type != 8 && (off < 0 || size < 0 || off + size > image.length)) {
        throw invalid(name, "has section " + i + " outside the file");
      }
      sections[i] = new long[] {nameOff, off, size, type};
    }
    long[] strtab = sections[shstrndx];
    Map<String, KernelSignature> out = new LinkedHashMap<>();
    for (long[] s : sections) {
      String section = string(image, strtab, s[0], name);
      if (!section.startsWith(PREFIX) || s[3] == 8) {
        continue;
      }
      String kernel = section.substring(PREFIX.length());
      out.put(kernel, kernel(b, (int) s[1], (int) s[2], kernel, name));
    }
    return Collections.unmodifiableMap(out);
  }

  private static KernelSignature kernel(ByteBuffer b, int off, int size, String kernel, String name)
      throws DriverException {
    List<int[]> params = new ArrayList<>(); // {ordinal, offset, size}
    int p = off;
    int end = off + size;
    while (p < end) {
      if (end - p < 4) {
        throw invalid(name, "has a truncated attribute in .nv.info." + kernel);
      }
      int format = Byte.toUnsignedInt(b.get(p));
      int attr = Byte.toUnsignedInt(b.get(p + 1));
      int value = Short.toUnsignedInt(b.getShort(p + 2));
      if (format != EIFMT_SVAL) {
        p += 4;
        continue;
      }
      if (value > end - p - 4) {
        throw invalid(name, "has an attribute 0x" + Integer.toHexString(attr) + " of " + value
            + " bytes running past .nv.info." + kernel);
      }
      if (attr == EIATTR_KPARAM_INFO) {
        if (value < 12) {
          throw invalid(name, "has a KPARAM_INFO of " + value + " bytes in .nv.info." + kernel);
        }
        int ordinal = Short.toUnsignedInt(b.getShort(p + 8));
        int offset = Short.toUnsignedInt(b.getShort(p + 10));
        int bytes = b.getInt(p + 12) >>> 18;
        params.add(new int[] {ordinal, offset, bytes});
      }
      p += 4 + value;
    }
    params.sort(Comparator.comparingInt(a -> a[0]));
    List<KernelSignature.Param> layout = new ArrayList<>(params.size());
    int next = 0;
    for (int i = 0; i < params.size(); i++) {
      int[] q = params.get(i);
      if (q[0] != i || q[2] < 1 || q[1] < next) {
        throw invalid(name, "declares parameters of kernel " + kernel + " that do not add up (ordinal "
            + q[0] + " at offset " + q[1] + ", " + q[2] + " bytes, after " + next + " bytes)");
      }
      KernelSignature.ParamType type = switch (q[2]) {
        case 4 -> KernelSignature.ParamType.W32;
        case 8 -> KernelSignature.ParamType.W64;
        case 1, 2 -> KernelSignature.ParamType.OTHER;
        default -> KernelSignature.ParamType.BYTES;
      };
      int align = Math.min(8, q[1] == 0 ? Integer.highestOneBit(Math.min(8, q[2])) : Integer.lowestOneBit(q[1]));
      layout.add(new KernelSignature.Param("param_" + i, q[1], q[2], align, type));
      next = q[1] + q[2];
    }
    return new KernelSignature(kernel, layout);
  }

  private static String string(byte[] image, long[] strtab, long at, String name) throws DriverException {
    long start = strtab[1] + at;
    long limit = strtab[1] + strtab[2];
    if (at < 0 || start >= limit || limit > image.length || strtab[3] == 8) {
      throw invalid(name, "has a section name outside its string table");
    }
    int e = (int) start;
    while (e < limit && image[e] != 0) {
      e++;
    }
    return new String(image, (int) start, e - (int) start, StandardCharsets.US_ASCII);
  }

  private static DriverException invalid(String name, String what) {
    return new DriverException(DriverException.Kind.INVALID, "loadModule " + name + ": the image " + what
        + "; its kernels' parameter layouts cannot be verified");
  }
}
