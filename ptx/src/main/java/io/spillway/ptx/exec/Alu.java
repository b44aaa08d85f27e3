package io.spillway.ptx.exec;

import java.math.BigDecimal;

/**
 * Per-lane semantics of the arithmetic, logic, conversion and comparison instructions, as the PTX ISA
 * defines them. Integers are computed on 64-bit values extended from their type; floats follow IEEE
 * 754 with the instruction's rounding mode: round-to-nearest results come from Java's own operations
 * (and {@link Math#fma}, so {@code fma.rn} is exact), the directed modes from the exact error of the
 * nearest result (two-sum, fused remainders, or exact decimal arithmetic where no error term exists).
 */
final class Alu {

  private Alu() {}

  static long eval(Insn in, long a, long b, long c, long e) {
    int t = in.type;
    switch (in.op) {
      case Op.ADD: return a + b;
      case Op.SUB: return a - b;
      case Op.MUL_LO: return a * b;
      case Op.MAD_LO: return a * b + c;
      case Op.MUL_HI: return mulHi(a, b, t);
      case Op.MAD_HI: return mulHi(a, b, t) + c;
      case Op.MUL_WIDE: return Type.ext(a, t) * Type.ext(b, t);
      case Op.MAD_WIDE: return Type.ext(a, t) * Type.ext(b, t) + c;
      case Op.DIV: return div(a, b, t);
      case Op.REM: return rem(a, b, t);
      case Op.MIN: return min(a, b, t) ? a : b;
      case Op.MAX: return min(a, b, t) ? b : a;
      case Op.ABS: return Math.abs(Type.ext(a, t));
      case Op.NEG: return -a;
      case Op.AND: return a & b;
      case Op.OR: return a | b;
      case Op.XOR: return a ^ b;
      case Op.NOT: return t == Type.PRED ? (a ^ 1) & 1 : ~a;
      case Op.CNOT: return Type.ext(a, t) == 0 ? 1 : 0;
      case Op.SHL: return shl(a, b, t);
      case Op.SHR: return shr(a, b, t);
      case Op.POPC: return Long.bitCount(Type.ext(a, t == Type.S32 ? Type.B32 : t));
      case Op.CLZ: return Type.size(t) == 8 ? Long.numberOfLeadingZeros(a)
          : Integer.numberOfLeadingZeros((int) a);
      case Op.BREV: return Type.size(t) == 8 ? Long.reverse(a) : Integer.reverse((int) a);
      case Op.BFE: return bfe(a, b, c, t);
      case Op.BFI: return bfi(a, b, c, e, t);
      case Op.PRMT: return prmt((int) a, (int) b, (int) c);
      case Op.CVT: return cvt(in, a);
      default: return t == Type.F64 ? f64(in, a, b, c) : f32(in, a, b, c);
    }
  }

  // ---- integers

  private static long mulHi(long a, long b, int t) {
    if (Type.size(t) == 8) {
      long hi = Math.multiplyHigh(a, b);
      return Type.signed(t) ? hi : hi + ((a >> 63) & b) + ((b >> 63) & a);
    }
    int bits = Type.size(t) * 8;
    return (Type.ext(a, t) * Type.ext(b, t)) >> bits;
  }

  private static long div(long a, long b, int t) {
    long x = Type.ext(a, t);
    long y = Type.ext(b, t);
    if (y == 0) {
      return -1;
    }
    if (Type.size(t) == 8 && !Type.signed(t)) {
      return Long.divideUnsigned(x, y);
    }
    return x / y;
  }

  private static long rem(long a, long b, int t) {
    long x = Type.ext(a, t);
    long y = Type.ext(b, t);
    if (y == 0) {
      return x;
    }
    if (Type.size(t) == 8 && !Type.signed(t)) {
      return Long.remainderUnsigned(x, y);
    }
    return x % y;
  }

  /** Whether a <= b in type t (so min picks a). */
  private static boolean min(long a, long b, int t) {
    long x = Type.ext(a, t);
    long y = Type.ext(b, t);
    return Type.signed(t) ? x <= y : Long.compareUnsigned(x, y) <= 0;
  }

  private static long shl(long a, long b, int t) {
    long amount = b & 0xffffffffL;
    int bits = Type.size(t) * 8;
    return amount >= bits ? 0 : a << amount;
  }

  private static long shr(long a, long b, int t) {
    long amount = b & 0xffffffffL;
    int bits = Type.size(t) * 8;
    long x = Type.ext(a, t);
    if (Type.signed(t)) {
      return x >> Math.min(amount, 63);
    }
    return amount >= bits ? 0 : x >>> amount;
  }

  private static long bfe(long a, long b, long c, int t) {
    int msb = Type.size(t) * 8 - 1;
    int pos = (int) (b & 0xff);
    int len = (int) (c & 0xff);
    long x = Type.ext(a, t);
    boolean sbit = Type.signed(t) && len > 0 && ((x >>> Math.min(pos + len - 1, msb)) & 1) != 0;
    long d = 0;
    for (int i = 0; i <= msb; i++) {
      boolean bit = (i < len && pos + i <= msb) ? ((x >>> (pos + i)) & 1) != 0 : sbit;
      if (bit) {
        d |= 1L << i;
      }
    }
    return d;
  }

  private static long bfi(long a, long b, long c, long e, int t) {
    int msb = Type.size(t) * 8 - 1;
    int pos = (int) (c & 0xff);
    int len = (int) (e & 0xff);
    long d = b;
    for (int i = 0; i < len && pos + i <= msb; i++) {
      long bit = 1L << (pos + i);
      d = ((a >>> i) & 1) != 0 ? d | bit : d & ~bit;
    }
    return d;
  }

  private static long prmt(int a, int b, int c) {
    long src = (a & 0xffffffffL) | ((b & 0xffffffffL) << 32);
    int d = 0;
    for (int i = 0; i < 4; i++) {
      int sel = (c >>> (4 * i)) & 0xf;
      int v = (int) (src >>> (8 * (sel & 7))) & 0xff;
      if ((sel & 8) != 0) {
        v = (v & 0x80) != 0 ? 0xff : 0;
      }
      d |= v << (8 * i);
    }
    return d;
  }

  static boolean compare(int cmp, int t, long a, long b) {
    if (t == Type.F32 || t == Type.F64) {
      double x = t == Type.F32 ? Float.intBitsToFloat((int) a) : Double.longBitsToDouble(a);
      double y = t == Type.F32 ? Float.intBitsToFloat((int) b) : Double.longBitsToDouble(b);
      boolean unordered = Double.isNaN(x) || Double.isNaN(y);
      return switch (cmp) {
        case Op.EQ -> !unordered && x == y;
        case Op.NE -> !unordered && x != y;
        case Op.LT -> !unordered && x < y;
        case Op.LE -> !unordered && x <= y;
        case Op.GT -> !unordered && x > y;
        case Op.GE -> !unordered && x >= y;
        case Op.EQU -> unordered || x == y;
        case Op.NEU -> unordered || x != y;
        case Op.LTU -> unordered || x < y;
        case Op.LEU -> unordered || x <= y;
        case Op.GTU -> unordered || x > y;
        case Op.GEU -> unordered || x >= y;
        case Op.NUM -> !unordered;
        default -> unordered;
      };
    }
    long x = Type.ext(a, t);
    long y = Type.ext(b, t);
    int order = Type.signed(t) ? Long.compare(x, y) : Long.compareUnsigned(x, y);
    return switch (cmp) {
      case Op.EQ -> order == 0;
      case Op.NE -> order != 0;
      case Op.LT -> order < 0;
      case Op.LE -> order <= 0;
      case Op.GT -> order > 0;
      default -> order >= 0;
    };
  }

  // ---- f32

  private static long f32(Insn in, long a, long b, long c) {
    float x = Float.intBitsToFloat((int) a);
    float y = Float.intBitsToFloat((int) b);
    float z = Float.intBitsToFloat((int) c);
    if (in.ftz) {
      x = ftz(x);
      y = ftz(y);
      z = ftz(z);
    }
    int mode = in.aux;
    float r = switch (in.op) {
      case Op.FADD -> mode == Op.RN ? x + y : add32(x, y, mode);
      case Op.FSUB -> mode == Op.RN ? x - y : add32(x, -y, mode);
      case Op.FMUL -> mode == Op.RN ? x * y : round32((double) x * y, 0, mode);
      case Op.FFMA -> mode == Op.RN ? Math.fma(x, y, z) : fma32(x, y, z, mode);
      case Op.FDIV -> in.approx ? x * (1f / y) : div32(x, y, mode);
      case Op.FRCP -> in.approx ? 1f / x : div32(1f, x, mode);
      case Op.FSQRT -> sqrt32(x, in.approx ? Op.RN : mode);
      case Op.FRSQRT -> (float) (1.0 / Math.sqrt(x));
      case Op.FABS -> Math.abs(x);
      case Op.FNEG -> -x;
      case Op.FMIN -> Float.isNaN(x) ? y : Float.isNaN(y) ? x : Math.min(x, y);
      case Op.FMAX -> Float.isNaN(x) ? y : Float.isNaN(y) ? x : Math.max(x, y);
      case Op.FEX2 -> (float) Math.pow(2.0, x);
      case Op.FLG2 -> (float) (Math.log(x) / Math.log(2.0));
      case Op.FSIN -> (float) Math.sin(x);
      case Op.FCOS -> (float) Math.cos(x);
      case Op.FTANH -> (float) Math.tanh(x);
      case Op.COPYSIGN -> Math.copySign(y, x);
      default -> throw new IllegalStateException("not an f32 operation: " + in.where());
    };
    if (in.sat) {
      r = Float.isNaN(r) ? 0f : Math.min(1f, Math.max(0f, r));
    }
    if (in.ftz) {
      r = ftz(r);
    }
    return Float.floatToRawIntBits(r);
  }

  static float ftz(float v) {
    return Math.abs(v) < Float.MIN_NORMAL && v != 0 ? Math.copySign(0f, v) : v;
  }

  private static float add32(float x, float y, int mode) {
    double s = (double) x + y;
    double bb = s - x;
    double err = ((double) x - (s - bb)) + ((double) y - bb);
    return round32(s, err, mode);
  }

  private static float fma32(float x, float y, float z, int mode) {
    double p = (double) x * y;
    double s = p + z;
    double bb = s - p;
    double err = (p - (s - bb)) + ((double) z - bb);
    return round32(s, err, mode);
  }

  private static float div32(float x, float y, int mode) {
    double q = (double) x / y;
    if (mode == Op.RN || Double.isNaN(q) || Double.isInfinite(q) || q == 0) {
      return (float) q;
    }
    double r = Math.fma(-q, y, x);
    return round32(q, y > 0 ? r : -r, mode);
  }

  private static float sqrt32(float x, int mode) {
    double s = Math.sqrt(x);
    if (mode == Op.RN || Double.isNaN(s) || Double.isInfinite(s) || s == 0) {
      return (float) s;
    }
    return round32(s, Math.fma(-s, s, x), mode);
  }

  /**
   * The float of {@code s + err} (exact; |err| far below one float ulp of s) rounded by {@code mode}:
   * the nearest float, stepped once where it lies on the wrong side of the exact value.
   */
  static float round32(double s, double err, int mode) {
    float f = (float) s;
    if (mode == Op.RN || Double.isNaN(s)) {
      return f;
    }
    if (Float.isInfinite(f) && !Double.isInfinite(s)) {
      boolean positive = s > 0;
      boolean toInfinity = mode == Op.RP ? positive : mode == Op.RM && !positive;
      return toInfinity ? f : Math.copySign(Float.MAX_VALUE, (float) s);
    }
    double diff = s - f;
    int sign = diff > 0 ? 1 : diff < 0 ? -1 : Double.compare(err, 0.0);
    if (sign == 0) {
      return f;
    }
    boolean exactPositive = s > 0 || (s == 0 && err > 0);
    return switch (mode) {
      case Op.RM -> sign < 0 ? Math.nextDown(f) : f;
      case Op.RP -> sign > 0 ? Math.nextUp(f) : f;
      default -> exactPositive ? (sign < 0 ? Math.nextDown(f) : f) : (sign > 0 ? Math.nextUp(f) : f);
    };
  }

  // ---- f64

  private static long f64(Insn in, long a, long b, long c) {
    double x = Double.longBitsToDouble(a);
    double y = Double.longBitsToDouble(b);
    double z = Double.longBitsToDouble(c);
    int mode = in.aux;
    double r = switch (in.op) {
      case Op.FADD -> mode == Op.RN ? x + y : add64(x, y, mode);
      case Op.FSUB -> mode == Op.RN ? x - y : add64(x, -y, mode);
      case Op.FMUL -> mode == Op.RN ? x * y : step64(x * y, Math.fma(x, y, -(x * y)), mode);
      case Op.FFMA -> mode == Op.RN ? Math.fma(x, y, z) : fma64(x, y, z, mode);
      case Op.FDIV -> mode == Op.RN || in.approx ? x / y : div64(x, y, mode);
      case Op.FRCP -> mode == Op.RN || in.approx ? 1.0 / x : div64(1.0, x, mode);
      case Op.FSQRT -> mode == Op.RN ? Math.sqrt(x) : sqrt64(x, mode);
      case Op.FRSQRT -> 1.0 / Math.sqrt(x);
      case Op.FABS -> Math.abs(x);
      case Op.FNEG -> -x;
      case Op.FMIN -> Double.isNaN(x) ? y : Double.isNaN(y) ? x : Math.min(x, y);
      case Op.FMAX -> Double.isNaN(x) ? y : Double.isNaN(y) ? x : Math.max(x, y);
      case Op.FEX2 -> Math.pow(2.0, x);
      case Op.FLG2 -> Math.log(x) / Math.log(2.0);
      case Op.FSIN -> Math.sin(x);
      case Op.FCOS -> Math.cos(x);
      case Op.COPYSIGN -> Math.copySign(y, x);
      default -> throw new IllegalStateException("not an f64 operation: " + in.where());
    };
    if (in.sat) {
      r = Double.isNaN(r) ? 0 : Math.min(1, Math.max(0, r));
    }
    return Double.doubleToRawLongBits(r);
  }

  private static double add64(double x, double y, int mode) {
    double s = x + y;
    double bb = s - x;
    double err = (x - (s - bb)) + (y - bb);
    return step64(s, err, mode);
  }

  private static double div64(double x, double y, int mode) {
    double q = x / y;
    if (Double.isNaN(q) || Double.isInfinite(q) || q == 0) {
      return q;
    }
    double r = Math.fma(-q, y, x);
    return step64(q, y > 0 ? r : -r, mode);
  }

  private static double sqrt64(double x, int mode) {
    double s = Math.sqrt(x);
    if (Double.isNaN(s) || Double.isInfinite(s) || s == 0) {
      return s;
    }
    return step64(s, Math.fma(-s, s, x), mode);
  }

  private static double fma64(double x, double y, double z, int mode) {
    double s = Math.fma(x, y, z);
    if (Double.isNaN(s) || Double.isInfinite(s) || Double.isInfinite(x) || Double.isInfinite(y)
        || Double.isInfinite(z)) {
      return s;
    }
    BigDecimal exact = new BigDecimal(x).multiply(new BigDecimal(y)).add(new BigDecimal(z));
    return step64(s, exact.compareTo(new BigDecimal(s)), mode);
  }

  /** {@code s} (the nearest double to s + err) moved one step where the mode requires. */
  private static double step64(double s, double err, int mode) {
    if (err == 0 || Double.isNaN(err) || Double.isNaN(s)) {
      return s;
    }
    boolean positive = s > 0 || (s == 0 && err > 0);
    return switch (mode) {
      case Op.RM -> err < 0 ? Math.nextDown(s) : s;
      case Op.RP -> err > 0 ? Math.nextUp(s) : s;
      case Op.RZ -> positive ? (err < 0 ? Math.nextDown(s) : s) : (err > 0 ? Math.nextUp(s) : s);
      default -> s;
    };
  }

  // ---- cvt

  private static long cvt(Insn in, long a) {
    int dt = in.type;
    int st = in.type2;
    int mode = in.aux;
    boolean dFloat = dt == Type.F32 || dt == Type.F64;
    boolean sFloat = st == Type.F32 || st == Type.F64;
    if (!dFloat && !sFloat) {
      long v = Type.ext(a, st);
      return in.sat ? saturate(v, st, dt) : v;
    }
    if (dFloat && !sFloat) {
      long v = Type.ext(a, st);
      boolean unsigned64 = Type.size(st) == 8 && !Type.signed(st);
      if (dt == Type.F64) {
        double d = unsigned64 && v < 0 ? unsignedToDouble(v) : (double) v;
        if (mode != Op.RN && !unsigned64) {
          d = step64(d, Long.signum(exactMinus(v, d)), mode);
        }
        return Double.doubleToRawLongBits(d);
      }
      float f = unsigned64 && v < 0 ? (float) unsignedToDouble(v) : (float) v;
      if (unsigned64 && v < 0) {
        f = new BigDecimal(Long.toUnsignedString(v)).floatValue();
      }
      if (mode != Op.RN && !unsigned64) {
        f = round32(f, Long.signum(exactMinus(v, f)), mode);
      }
      if (in.sat) {
        f = Float.isNaN(f) ? 0f : Math.min(1f, Math.max(0f, f));
      }
      return Float.floatToRawIntBits(f);
    }
    double x = st == Type.F32 ? Float.intBitsToFloat((int) a) : Double.longBitsToDouble(a);
    if (in.ftz && st == Type.F32) {
      x = ftz((float) x);
    }
    if (!dFloat) {
      double r = switch (mode) {
        case Op.RZI, Op.RZ -> x < 0 ? Math.ceil(x) : Math.floor(x);
        case Op.RMI, Op.RM -> Math.floor(x);
        case Op.RPI, Op.RP -> Math.ceil(x);
        default -> Math.rint(x);
      };
      return saturateDouble(r, dt);
    }
    if (dt == Type.F64) {
      double r = x;
      if (mode >= Op.RNI) {
        r = integral(x, mode);
      }
      if (in.sat) {
        r = Double.isNaN(r) ? 0 : Math.min(1, Math.max(0, r));
      }
      return Double.doubleToRawLongBits(r);
    }
    float f;
    if (mode >= Op.RNI) {
      f = (float) integral(x, mode);
    } else if (st == Type.F64) {
      f = round32(x, 0, mode);
    } else {
      f = (float) x;
    }
    if (in.sat) {
      f = Float.isNaN(f) ? 0f : Math.min(1f, Math.max(0f, f));
    }
    if (in.ftz) {
      f = ftz(f);
    }
    return Float.floatToRawIntBits(f);
  }

  private static double integral(double x, int mode) {
    return switch (mode) {
      case Op.RZI -> x < 0 ? Math.ceil(x) : Math.floor(x);
      case Op.RMI -> Math.floor(x);
      case Op.RPI -> Math.ceil(x);
      default -> Math.rint(x);
    };
  }

  /** v - d as a sign: positive when the double d lies below the integer v. */
  private static long exactMinus(long v, double d) {
    if (d >= 0x1p63) {
      return -1;
    }
    if (d < -0x1p63) {
      return 1;
    }
    return Long.compare(v, (long) d) != 0 ? Long.compare(v, (long) d)
        : Double.compare(0.0, d - Math.floor(d)) ;
  }

  private static double unsignedToDouble(long v) {
    return new BigDecimal(Long.toUnsignedString(v)).doubleValue();
  }

  private static long saturate(long v, int st, int dt) {
    int bits = Type.size(dt) * 8;
    if (bits == 64) {
      if (Type.signed(dt) != Type.signed(st) && v < 0 && Type.size(st) == 8) {
        return Type.signed(dt) ? Long.MAX_VALUE : 0;
      }
      return !Type.signed(dt) && v < 0 ? 0 : v;
    }
    long lo = Type.signed(dt) ? -(1L << (bits - 1)) : 0;
    long hi = Type.signed(dt) ? (1L << (bits - 1)) - 1 : (1L << bits) - 1;
    if (Type.size(st) == 8 && !Type.signed(st) && v < 0) {
      return hi;
    }
    return Math.max(lo, Math.min(hi, v));
  }

  /** Float to integer conversion saturates to the destination's range; NaN gives 0. */
  private static long saturateDouble(double r, int dt) {
    if (Double.isNaN(r)) {
      return 0;
    }
    int bits = Type.size(dt) * 8;
    if (Type.signed(dt)) {
      double lo = -Math.pow(2, bits - 1);
      double hi = Math.pow(2, bits - 1) - 1;
      if (r <= lo) {
        return bits == 64 ? Long.MIN_VALUE : (long) lo;
      }
      if (r >= hi) {
        return bits == 64 ? Long.MAX_VALUE : (long) hi;
      }
      return (long) r;
    }
    if (r <= 0) {
      return 0;
    }
    if (bits == 64) {
      if (r >= 0x1p64) {
        return -1L;
      }
      return r >= 0x1p63 ? new BigDecimal(r).toBigInteger().longValue() : (long) r;
    }
    double hi = Math.pow(2, bits) - 1;
    return r >= hi ? (long) hi : (long) r;
  }
}
