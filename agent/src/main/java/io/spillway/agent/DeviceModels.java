package io.spillway.agent;

import io.spillway.client.DeviceInfo;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.UUID;

/**
 * What a CUDA program sees of a slice: the card's name, compute capability and limits as the driver of that
 * card model reports them, the slice's memory in place of the card's, and the card's UUID. Answered once per
 * process at hello; the shim caches the table.
 */
public final class DeviceModels {

  /** Attributes are indexed by {@code CUdevice_attribute}; the shim reads this many. */
  public static final int ATTRIBUTES = 160;

  record Model(String name, int major, int minor, int sms, int sharedPerBlockOptin, int sharedPerSm,
      int l2Bytes, int clockKhz, int memClockKhz, int busWidth) {
  }

  private static final Model[] MODELS = {
      new Model("Tesla P40", 6, 1, 30, 49152, 98304, 3 << 20, 1531000, 3615000, 384),
      new Model("Tesla P100-PCIE-16GB", 6, 0, 56, 49152, 65536, 4 << 20, 1328500, 715000, 4096),
      new Model("Tesla V100-SXM2-32GB", 7, 0, 80, 98304, 98304, 6 << 20, 1530000, 877000, 4096),
      new Model("Tesla T4", 7, 5, 40, 65536, 65536, 4 << 20, 1590000, 5001000, 256),
      new Model("NVIDIA A100-SXM4-80GB", 8, 0, 108, 166912, 167936, 40 << 20, 1410000, 1593000, 5120),
      new Model("NVIDIA A10", 8, 6, 72, 101376, 102400, 6 << 20, 1695000, 6251000, 384),
      new Model("NVIDIA L4", 8, 9, 58, 101376, 102400, 48 << 20, 2040000, 6251000, 192),
      new Model("NVIDIA H100 80GB HBM3", 9, 0, 132, 232448, 233472, 50 << 20, 1980000, 2619000, 5120),
      new Model("NVIDIA H200", 9, 0, 132, 232448, 233472, 60 << 20, 1980000, 3201000, 6144),
  };

  private DeviceModels() {
  }

  static Model model(String label) {
    String l = label == null ? "" : label.toUpperCase(Locale.ROOT).replace(" ", "");
    for (Model m : MODELS) {
      String n = m.name().toUpperCase(Locale.ROOT).replace(" ", "");
      String key = l.isEmpty() ? "\0" : l;
      if (n.contains(key)) {
        return m;
      }
    }
    /* An unknown model: a Turing-class card, the default target of nvcc 13. */
    return new Model("Spillway " + (label == null || label.isBlank() ? "GPU" : label), 7, 5, 40, 65536, 65536,
        4 << 20, 1590000, 5001000, 256);
  }

  /** The name the program sees: the model's marketing name and where the slice is. */
  public static String name(DeviceInfo d) {
    return model(d.model()).name() + " (spillway " + d.pool() + ")";
  }

  /** The card's UUID as 16 bytes: parsed from {@code GPU-xxxxxxxx-...}, else derived from the id. */
  public static byte[] uuid(DeviceInfo d) {
    String id = d.gpuUuid() == null ? "" : d.gpuUuid();
    String hex = id.startsWith("GPU-") ? id.substring(4) : id;
    try {
      UUID u = UUID.fromString(hex);
      return ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()).array();
    } catch (IllegalArgumentException e) {
      UUID u = UUID.nameUUIDFromBytes((d.node() + "/" + id).getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()).array();
    }
  }

  /** The attribute table (index = {@code CUdevice_attribute}). */
  public static int[] attributes(DeviceInfo d, int pciBus) {
    Model m = model(d.model());
    int[] a = new int[ATTRIBUTES];
    a[1] = 1024;          // max threads per block
    a[2] = 1024;          // block dim x
    a[3] = 1024;
    a[4] = 64;
    a[5] = Integer.MAX_VALUE; // grid dim x
    a[6] = 65535;
    a[7] = 65535;
    a[8] = 49152;         // shared memory per block
    a[9] = 65536;         // constant memory
    a[10] = 32;           // warp size
    a[11] = Integer.MAX_VALUE; // max pitch
    a[12] = 65536;        // registers per block
    a[13] = m.clockKhz();
    a[14] = 512;          // texture alignment
    a[15] = 1;            // gpu overlap
    a[16] = m.sms();
    a[17] = 0;            // kernel exec timeout
    a[18] = 0;            // integrated
    a[19] = 0;            // can map host memory: mapped host memory is not supported
    a[20] = 0;            // compute mode default
    a[30] = 512;          // surface alignment
    a[31] = 1;            // concurrent kernels
    a[32] = 1;            // ECC
    a[33] = pciBus;
    a[34] = 0;
    a[36] = m.memClockKhz();
    a[37] = m.busWidth();
    a[38] = m.l2Bytes();
    a[39] = m.major() >= 8 && m.minor() != 0 ? 1536 : 2048; // threads per SM
    a[40] = 2;            // async engines
    a[41] = 1;            // unified addressing
    a[50] = 0;            // PCI domain
    a[75] = m.major();
    a[76] = m.minor();
    a[78] = 1;            // stream priorities (one level)
    a[79] = 1;
    a[80] = 1;
    a[81] = m.sharedPerSm();
    a[82] = 65536;
    a[83] = 0;            // managed memory: not supported
    a[84] = 0;
    a[86] = 0;
    a[87] = 2;
    a[95] = 0;            // cooperative launch: not supported
    a[97] = m.sharedPerBlockOptin();
    a[106] = m.major() >= 8 ? 32 : 16;
    a[115] = 0;           // memory pools: not supported
    return a;
  }
}
