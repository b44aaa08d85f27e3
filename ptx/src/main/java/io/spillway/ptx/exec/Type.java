package io.spillway.ptx.exec;

/**
 * PTX scalar types as small ints, so a decoded instruction carries them without objects. A register
 * holds every type in a {@code long}: integers in their low bits (readers extend them as their type
 * says), {@code f32} as its raw bits in the low 32, {@code f64} as its raw bits, predicates as 0 or 1.
 */
final class Type {
  static final int PRED = 0;
  static final int B8 = 1;
  static final int U8 = 2;
  static final int S8 = 3;
  static final int B16 = 4;
  static final int U16 = 5;
  static final int S16 = 6;
  static final int F16 = 7;
  static final int B32 = 8;
  static final int U32 = 9;
  static final int S32 = 10;
  static final int F32 = 11;
  static final int B64 = 12;
  static final int U64 = 13;
  static final int S64 = 14;
  static final int F64 = 15;

  private Type() {}

  static int of(String name) {
    return switch (name) {
      case "pred" -> PRED;
      case "b8" -> B8;
      case "u8" -> U8;
      case "s8" -> S8;
      case "b16" -> B16;
      case "u16" -> U16;
      case "s16" -> S16;
      case "f16" -> F16;
      case "b32" -> B32;
      case "u32" -> U32;
      case "s32" -> S32;
      case "f32" -> F32;
      case "b64" -> B64;
      case "u64" -> U64;
      case "s64" -> S64;
      case "f64" -> F64;
      default -> -1;
    };
  }

  static int size(int t) {
    if (t == PRED) {
      return 1;
    }
    if (t <= S8) {
      return 1;
    }
    if (t <= F16) {
      return 2;
    }
    if (t <= F32) {
      return 4;
    }
    return 8;
  }

  static boolean signed(int t) {
    return t == S8 || t == S16 || t == S32 || t == S64;
  }

  static boolean isFloat(int t) {
    return t == F16 || t == F32 || t == F64;
  }

  /** {@code v} as a 64-bit integer of type {@code t}: sign- or zero-extended from its width. */
  static long ext(long v, int t) {
    return switch (t) {
      case S8 -> (byte) v;
      case S16 -> (short) v;
      case S32 -> (int) v;
      case B8, U8 -> v & 0xff;
      case B16, U16, F16 -> v & 0xffff;
      case B32, U32, F32 -> v & 0xffffffffL;
      case PRED -> v & 1;
      default -> v;
    };
  }
}
