package io.spillway.ptx.exec;

/**
 * One kernel decoded for the executor: instructions with every register, label, variable and
 * parameter resolved to a slot, a pc or an offset, so a launch never looks at PTX text. Device
 * functions are inlined. Immutable; a kernel may be launched from several threads at once.
 */
public final class Kernel {

  /** Kinds of special registers, filled per block and lane when a block starts. */
  static final int TID_X = 0;
  static final int TID_Y = 1;
  static final int TID_Z = 2;
  static final int NTID_X = 3;
  static final int NTID_Y = 4;
  static final int NTID_Z = 5;
  static final int CTAID_X = 6;
  static final int CTAID_Y = 7;
  static final int CTAID_Z = 8;
  static final int NCTAID_X = 9;
  static final int NCTAID_Y = 10;
  static final int NCTAID_Z = 11;
  static final int LANEID = 12;
  static final int WARPID = 13;
  static final int NWARPID = 14;
  static final int LANEMASK_EQ = 15;
  static final int LANEMASK_LT = 16;
  static final int LANEMASK_LE = 17;
  static final int LANEMASK_GT = 18;
  static final int LANEMASK_GE = 19;
  static final int SMID = 20;
  static final int NSMID = 21;
  static final int GRIDID = 22;

  final String name;
  final Insn[] code;
  final int slots;
  final int[] constSlots;
  final long[] constValues;
  final int[] specialSlots;
  final int[] specialKinds;
  final int sharedStatic;
  final int dynamicSharedOffset;
  final int localBytes;
  final int paramBytes;

  Kernel(String name, Insn[] code, int slots, int[] constSlots, long[] constValues, int[] specialSlots,
      int[] specialKinds, int sharedStatic, int dynamicSharedOffset, int localBytes, int paramBytes) {
    this.name = name;
    this.code = code;
    this.slots = slots;
    this.constSlots = constSlots;
    this.constValues = constValues;
    this.specialSlots = specialSlots;
    this.specialKinds = specialKinds;
    this.sharedStatic = sharedStatic;
    this.dynamicSharedOffset = dynamicSharedOffset;
    this.localBytes = localBytes;
    this.paramBytes = paramBytes;
  }

  public String name() {
    return name;
  }

  /** Decoded instructions after inlining. */
  public int instructions() {
    return code.length;
  }

  /** Bytes of static shared memory per block. */
  public int staticSharedBytes() {
    return sharedStatic;
  }

  /** Bytes of the parameter buffer a launch passes. */
  public int paramBytes() {
    return paramBytes;
  }
}
