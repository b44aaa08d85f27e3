package io.spillway.ptx.exec;

/** Decoded opcodes ({@link Insn#op}) and their sub-operation codes ({@link Insn#aux}). */
final class Op {
  // data movement
  static final int MOV = 1;
  static final int PACK = 2;
  static final int UNPACK = 3;
  static final int CLOCK = 4;
  // integer
  static final int ADD = 10;
  static final int SUB = 11;
  static final int MUL_LO = 12;
  static final int MUL_HI = 13;
  static final int MUL_WIDE = 14;
  static final int MAD_LO = 15;
  static final int MAD_HI = 16;
  static final int MAD_WIDE = 17;
  static final int DIV = 18;
  static final int REM = 19;
  static final int MIN = 20;
  static final int MAX = 21;
  static final int ABS = 22;
  static final int NEG = 23;
  static final int AND = 24;
  static final int OR = 25;
  static final int XOR = 26;
  static final int NOT = 27;
  static final int CNOT = 28;
  static final int SHL = 29;
  static final int SHR = 30;
  static final int POPC = 31;
  static final int CLZ = 32;
  static final int BREV = 33;
  static final int BFE = 34;
  static final int BFI = 35;
  static final int PRMT = 36;
  // floating point
  static final int FADD = 50;
  static final int FSUB = 51;
  static final int FMUL = 52;
  static final int FFMA = 53;
  static final int FDIV = 54;
  static final int FRCP = 55;
  static final int FSQRT = 56;
  static final int FRSQRT = 57;
  static final int FABS = 58;
  static final int FNEG = 59;
  static final int FMIN = 60;
  static final int FMAX = 61;
  static final int FEX2 = 62;
  static final int FLG2 = 63;
  static final int FSIN = 64;
  static final int FCOS = 65;
  static final int FTANH = 66;
  static final int CVT = 67;
  static final int COPYSIGN = 68;
  // compare and select
  static final int SETP = 80;
  static final int SELP = 81;
  // memory
  static final int LD = 90;
  static final int ST = 91;
  static final int ATOM = 92;
  static final int CVTA = 93;
  // control and warp
  static final int BRA = 100;
  static final int EXIT = 101;
  static final int BAR = 102;
  static final int SHFL = 103;
  static final int VOTE = 104;
  static final int ACTIVEMASK = 105;
  static final int NOP = 106;

  // rounding modes (aux of float ops and cvt)
  static final int RN = 0;
  static final int RZ = 1;
  static final int RM = 2;
  static final int RP = 3;
  static final int RNI = 4;
  static final int RZI = 5;
  static final int RMI = 6;
  static final int RPI = 7;

  // comparisons (aux of setp)
  static final int EQ = 0;
  static final int NE = 1;
  static final int LT = 2;
  static final int LE = 3;
  static final int GT = 4;
  static final int GE = 5;
  static final int EQU = 6;
  static final int NEU = 7;
  static final int LTU = 8;
  static final int LEU = 9;
  static final int GTU = 10;
  static final int GEU = 11;
  static final int NUM = 12;
  static final int NAN = 13;

  // memory spaces (space of ld/st/atom/cvta)
  static final int GENERIC = 0;
  static final int GLOBAL = 1;
  static final int SHARED = 2;
  static final int LOCAL = 3;
  static final int PARAM = 4;
  static final int CONST = 5;

  // atomic operations (aux of atom)
  static final int A_ADD = 0;
  static final int A_MIN = 1;
  static final int A_MAX = 2;
  static final int A_EXCH = 3;
  static final int A_CAS = 4;
  static final int A_AND = 5;
  static final int A_OR = 6;
  static final int A_XOR = 7;
  static final int A_INC = 8;
  static final int A_DEC = 9;

  // shuffle modes and votes
  static final int SHFL_UP = 0;
  static final int SHFL_DOWN = 1;
  static final int SHFL_BFLY = 2;
  static final int SHFL_IDX = 3;
  static final int VOTE_ALL = 0;
  static final int VOTE_ANY = 1;
  static final int VOTE_UNI = 2;
  static final int VOTE_BALLOT = 3;

  private Op() {}
}
