package io.spillway.ptx.parse;

import io.spillway.ptx.Operand;
import io.spillway.ptx.PtxException;
import io.spillway.ptx.PtxFunction;
import io.spillway.ptx.PtxModule;
import io.spillway.ptx.PtxParam;
import io.spillway.ptx.PtxVariable;
import io.spillway.ptx.PtxVariable.Space;
import io.spillway.ptx.Statement;
import io.spillway.ptx.parse.Lexer.Kind;
import io.spillway.ptx.parse.Lexer.Token;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses the PTX that nvcc 12 and 13 emit into a {@link PtxModule}: header directives, module-scope
 * variables with initializers, {@code .entry} and {@code .func} with their parameters (byte arrays
 * included) and bodies of labels, declarations and instructions. It checks syntax only; what an
 * instruction means, and whether the executor can run it, is checked when a kernel is decoded.
 *
 * <p>Time and memory are linear in the text: one tokenizing pass, then one pass over the tokens.
 * Nesting of braces is bounded ({@link #MAX_NESTING}), so hostile input cannot recurse deeply.
 */
public final class PtxParser {

  /** Deepest nesting of {@code { }} scopes accepted inside a function body. */
  public static final int MAX_NESTING = 64;

  private final List<Token> tokens;
  private int pos;

  private PtxParser(List<Token> tokens) {
    this.tokens = tokens;
  }

  /** Parses {@code text}; errors name the PTX line. */
  public static PtxModule parse(String text) throws PtxException {
    return new PtxParser(Lexer.tokens(text)).module();
  }

  private PtxModule module() throws PtxException {
    String version = null;
    String target = null;
    int addressSize = 64;
    List<PtxVariable> variables = new ArrayList<>();
    List<PtxFunction> functions = new ArrayList<>();
    while (peek().kind() != Kind.EOF) {
      Token t = next();
      switch (t.text()) {
        case ".version" -> version = next().text();
        case ".target" -> {
          StringBuilder sb = new StringBuilder(word(next(), "target"));
          while (peek().is(",")) {
            next();
            sb.append(',').append(next().text());
          }
          target = sb.toString();
        }
        case ".address_size" -> addressSize = (int) integer(next());
        case ".file", ".loc" -> skipLine(t);
        case ".section" -> skipSection(t);
        case ".pragma" -> skipTo(";");
        default -> {
          List<String> attrs = new ArrayList<>();
          Token d = t;
          while (d.is(".visible") || d.is(".extern") || d.is(".weak") || d.is(".common")) {
            attrs.add(d.text());
            d = next();
          }
          boolean external = attrs.contains(".extern");
          if (d.is(".entry") || d.is(".func")) {
            functions.add(function(d, d.is(".entry")));
          } else if (d.is(".global") || d.is(".const") || d.is(".shared")) {
            variables.add(variable(d, space(d), external));
          } else {
            throw new PtxException(d.line(), "unexpected " + d + " at module scope");
          }
        }
      }
    }
    if (version == null) {
      throw new PtxException(0, "not a PTX module: no .version directive");
    }
    return new PtxModule(version, target, addressSize, variables, functions);
  }

  // ---- functions

  private PtxFunction function(Token kw, boolean entry) throws PtxException {
    List<PtxParam> returns = List.of();
    if (peek().is("(")) {
      if (entry) {
        throw new PtxException(kw.line(), ".entry cannot have return parameters");
      }
      returns = params(false);
    }
    Token name = next();
    String fname = word(name, "function name");
    List<PtxParam> params = peek().is("(") ? params(entry) : List.of();
    // performance directives (.maxntid 128, 1, 1 / .reqntid / .minnctapersm / .noreturn ...)
    while (!peek().is("{") && !peek().is(";")) {
      Token d = next();
      if (d.kind() == Kind.EOF) {
        throw new PtxException(kw.line(), "function " + fname + " has neither a body nor a ';'");
      }
    }
    List<Statement> body = null;
    if (next().is("{")) {
      body = body(fname, name.line());
    }
    int bytes = 0;
    for (PtxParam p : params) {
      bytes = Math.max(bytes, p.offset() + p.size());
    }
    return new PtxFunction(fname, entry, params, returns, body, bytes, name.line());
  }

  private List<PtxParam> params(boolean kernel) throws PtxException {
    expect("(");
    List<PtxParam> out = new ArrayList<>();
    int offset = 0;
    if (peek().is(")")) {
      next();
      return out;
    }
    while (true) {
      Token p = next();
      if (!p.is(".param") && !p.is(".reg") && !p.text().startsWith(".param.")) {
        throw new PtxException(p.line(), "expected .param in parameter list, found " + p);
      }
      List<String> dirs = new ArrayList<>(splitDots(p.text()).subList(1, splitDots(p.text()).size()));
      int align = 0;
      while (peek().kind() == Kind.WORD && peek().text().startsWith(".")) {
        Token d = next();
        if (d.is(".align")) {
          align = (int) integer(next());
        } else {
          dirs.addAll(splitDots(d.text()));
        }
      }
      String type = null;
      boolean pointer = false;
      for (String d : dirs) {
        if (d.equals("ptr")) {
          pointer = true;
        } else if (typeSize(d) > 0) {
          type = d;
        }
      }
      Token name = next();
      if (type == null) {
        throw new PtxException(name.line(), "parameter " + name.text() + " has no type");
      }
      String pname = word(name, "parameter name");
      int count = 1;
      boolean array = false;
      if (peek().is("[")) {
        next();
        count = (int) integer(next());
        expect("]");
        array = true;
        if (count < 0 || count > (1 << 20)) {
          throw new PtxException(name.line(), "parameter " + pname + " has array size " + count);
        }
      }
      int size = typeSize(type);
      if (align == 0) {
        align = size;
      }
      if (Integer.bitCount(align) != 1) {
        throw new PtxException(name.line(), "parameter " + pname + " has alignment " + align
            + ", not a power of two");
      }
      offset = (offset + align - 1) / align * align;
      out.add(new PtxParam(pname, type, size, count, array, align, offset, pointer, name.line()));
      offset += size * count;
      Token sep = next();
      if (sep.is(")")) {
        return out;
      }
      if (!sep.is(",")) {
        throw new PtxException(sep.line(), "expected ',' or ')' in parameter list, found " + sep);
      }
    }
  }

  private List<Statement> body(String function, int opened) throws PtxException {
    List<Statement> out = new ArrayList<>();
    int depth = 1;
    List<Integer> openLines = new ArrayList<>();
    openLines.add(opened);
    while (true) {
      Token t = next();
      if (t.kind() == Kind.EOF) {
        throw new PtxException(openLines.get(openLines.size() - 1), "body of " + function
            + ": '{' is not closed before the end of the module");
      }
      if (t.is("{")) {
        if (++depth > MAX_NESTING) {
          throw new PtxException(t.line(), "body of " + function + ": scopes nested deeper than "
              + MAX_NESTING);
        }
        openLines.add(t.line());
        out.add(new Statement.Open(t.line()));
      } else if (t.is("}")) {
        openLines.remove(openLines.size() - 1);
        if (--depth == 0) {
          return out;
        }
        out.add(new Statement.Close(t.line()));
      } else if (t.kind() == Kind.WORD && peek().is(":") && !t.text().startsWith(".")) {
        next();
        if (peek().is(".callprototype")) {
          throw new PtxException(t.line(), "function " + function + ": .callprototype (an indirect"
              + " call) is not supported");
        }
        out.add(new Statement.Label(t.text(), t.line()));
      } else if (t.is(".reg")) {
        regDecl(t, out);
      } else if (t.is(".local") || t.is(".shared") || t.is(".param")) {
        out.add(new Statement.VarDecl(variable(t, space(t), false)));
      } else if (t.is(".pragma")) {
        skipTo(";");
      } else if (t.is(".loc") || t.is(".file")) {
        skipLine(t);
      } else if (t.kind() == Kind.WORD && t.text().startsWith(".")) {
        throw new PtxException(t.line(), "function " + function + ": directive " + t.text()
            + " is not supported in a function body");
      } else {
        out.add(instruction(t, function));
      }
    }
  }

  private void regDecl(Token kw, List<Statement> out) throws PtxException {
    int vector = 1;
    String type = null;
    while (peek().kind() == Kind.WORD && peek().text().startsWith(".")) {
      for (String d : splitDots(next().text())) {
        if (d.equals("v2")) {
          vector = 2;
        } else if (d.equals("v4")) {
          vector = 4;
        } else if (typeSize(d) > 0 || d.equals("pred")) {
          type = d;
        } else {
          throw new PtxException(kw.line(), "register declaration: unknown type ." + d);
        }
      }
    }
    if (type == null) {
      throw new PtxException(kw.line(), "register declaration without a type");
    }
    while (true) {
      Token name = next();
      String n = word(name, "register name");
      int count = -1;
      if (peek().is("<")) {
        next();
        long c = integer(next());
        expect(">");
        if (c < 0 || c > (1 << 20)) {
          throw new PtxException(name.line(), "register declaration " + n + "<" + c + ">: count out of range");
        }
        count = (int) c;
      }
      out.add(new Statement.RegDecl(type, vector, n, count, name.line()));
      Token sep = next();
      if (sep.is(";")) {
        return;
      }
      if (!sep.is(",")) {
        throw new PtxException(sep.line(), "expected ',' or ';' in register declaration, found " + sep);
      }
    }
  }

  // ---- variables

  private PtxVariable variable(Token kw, Space space, boolean external) throws PtxException {
    int align = 0;
    String type = null;
    List<String> first = splitDots(kw.text());
    for (String d : first.subList(1, first.size())) {
      if (typeSize(d) > 0) {
        type = d;
      }
    }
    while (peek().kind() == Kind.WORD && peek().text().startsWith(".")) {
      Token d = next();
      if (d.is(".align")) {
        align = (int) integer(next());
      } else {
        for (String part : splitDots(d.text())) {
          if (typeSize(part) > 0) {
            type = part;
          } else if (!part.equals("ptr") && !part.equals("global") && !part.equals("const")
              && !part.equals("shared") && !part.equals("local") && !part.equals("v2")
              && !part.equals("v4")) {
            throw new PtxException(d.line(), "variable declaration: unsupported ." + part);
          }
        }
      }
    }
    Token name = next();
    String vname = word(name, "variable name");
    if (type == null) {
      throw new PtxException(name.line(), "variable " + vname + " has no type");
    }
    int size = typeSize(type);
    long count = 1;
    if (peek().is("[")) {
      next();
      if (peek().is("]")) {
        count = -1;
      } else {
        count = integer(next());
        if (count < 0 || count > (1L << 31)) {
          throw new PtxException(name.line(), "variable " + vname + " has array size " + count);
        }
      }
      expect("]");
      if (peek().is("[")) {
        throw new PtxException(name.line(), "variable " + vname + ": multi-dimensional arrays are not supported");
      }
    }
    if (align == 0) {
      align = size;
    }
    if (Integer.bitCount(align) != 1) {
      throw new PtxException(name.line(), "variable " + vname + " has alignment " + align
          + ", not a power of two");
    }
    byte[] init = null;
    if (peek().is("=")) {
      next();
      init = initializer(vname, type, size, count, name.line());
    }
    expect(";");
    return new PtxVariable(vname, space, type, size, count, align, init, external, name.line());
  }

  private byte[] initializer(String name, String type, int size, long count, int line)
      throws PtxException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (peek().is("{")) {
      next();
      while (true) {
        element(out, name, type, size);
        Token sep = next();
        if (sep.is("}")) {
          break;
        }
        if (!sep.is(",")) {
          throw new PtxException(sep.line(), "initializer of " + name + ": expected ',' or '}', found " + sep);
        }
      }
    } else {
      element(out, name, type, size);
    }
    long bytes = count < 0 ? out.size() : count * size;
    if (out.size() > bytes) {
      throw new PtxException(line, "initializer of " + name + " has " + out.size() / size
          + " elements, the variable " + count);
    }
    byte[] b = new byte[(int) bytes];
    System.arraycopy(out.toByteArray(), 0, b, 0, out.size());
    return b;
  }

  private void element(ByteArrayOutputStream out, String name, String type, int size)
      throws PtxException {
    Token t = peek();
    boolean negative = false;
    if (t.is("-")) {
      next();
      negative = true;
    }
    t = next();
    if (t.kind() != Kind.NUMBER) {
      throw new PtxException(t.line(), "initializer of " + name + ": " + t
          + " is not a number (address initializers are not supported)");
    }
    Operand.Imm imm = number(t, negative);
    long bits = imm.bits();
    if (type.startsWith("f")) {
      double v = switch (imm.kind()) {
        case INT -> (double) bits;
        case F32 -> Float.intBitsToFloat((int) bits);
        case F64 -> Double.longBitsToDouble(bits);
      };
      bits = size == 4 ? Float.floatToRawIntBits((float) v) & 0xffffffffL : Double.doubleToRawLongBits(v);
    }
    for (int i = 0; i < size; i++) {
      out.write((int) (bits >>> (8 * i)) & 0xff);
    }
  }

  // ---- instructions

  private Statement.Instruction instruction(Token first, String function) throws PtxException {
    String guard = null;
    boolean negated = false;
    Token t = first;
    if (t.is("@")) {
      if (peek().is("!")) {
        next();
        negated = true;
      }
      guard = word(next(), "guard predicate");
      t = next();
    }
    if (t.kind() != Kind.WORD) {
      throw new PtxException(t.line(), "function " + function + ": expected an instruction, found " + t);
    }
    List<Operand> operands = new ArrayList<>();
    if (!peek().is(";")) {
      while (true) {
        operands.add(operand(function));
        Token sep = next();
        if (sep.is(";")) {
          break;
        }
        if (!sep.is(",")) {
          throw new PtxException(sep.line(), "function " + function + ", " + t.text()
              + ": expected ',' or ';' after an operand, found " + sep);
        }
      }
    } else {
      next();
    }
    return new Statement.Instruction(guard, negated, t.text(), operands, t.line());
  }

  private Operand operand(String function) throws PtxException {
    Token t = next();
    if (t.is("[")) {
      Operand base = null;
      long offset = 0;
      Token b = next();
      if (b.kind() == Kind.WORD) {
        base = b.text().startsWith("%") ? new Operand.Reg(b.text()) : new Operand.Sym(b.text());
        if (peek().is("+")) {
          next();
          offset = signedInteger();
        } else if (peek().is("-")) {
          offset = signedInteger();
        }
      } else {
        pos--;
        offset = signedInteger();
      }
      expect("]");
      return new Operand.Addr(base, offset);
    }
    if (t.is("{") || t.is("(")) {
      String close = t.is("{") ? "}" : ")";
      List<Operand> elements = new ArrayList<>();
      if (!peek().is(close)) {
        while (true) {
          elements.add(operand(function));
          Token sep = next();
          if (sep.is(close)) {
            break;
          }
          if (!sep.is(",")) {
            throw new PtxException(sep.line(), "function " + function + ": expected ',' or '" + close
                + "', found " + sep);
          }
        }
      } else {
        next();
      }
      return t.is("{") ? new Operand.Vec(elements) : new Operand.Group(elements);
    }
    if (t.is("!")) {
      return new Operand.Not(operand(function));
    }
    if (t.is("-") || t.kind() == Kind.NUMBER) {
      boolean negative = t.is("-");
      Token n = negative ? next() : t;
      if (n.kind() != Kind.NUMBER) {
        throw new PtxException(n.line(), "function " + function + ": expected a number after '-', found " + n);
      }
      return number(n, negative);
    }
    if (t.kind() == Kind.WORD) {
      Operand o;
      if (t.text().equals("_")) {
        o = new Operand.Sink();
      } else if (t.text().startsWith("%")) {
        o = new Operand.Reg(t.text());
      } else if (peek().is("+") && tokens.get(pos + 1).kind() == Kind.NUMBER) {
        next();
        return new Operand.SymOffset(t.text(), integer(next()));
      } else {
        o = new Operand.Sym(t.text());
      }
      if (peek().is("|")) {
        next();
        return new Operand.Pair(o, operand(function));
      }
      return o;
    }
    throw new PtxException(t.line(), "function " + function + ": unexpected " + t + " as an operand");
  }

  private long signedInteger() throws PtxException {
    boolean negative = false;
    if (peek().is("-")) {
      next();
      negative = true;
    }
    long v = integer(next());
    return negative ? -v : v;
  }

  // ---- literals and helpers

  private static Operand.Imm number(Token t, boolean negative) throws PtxException {
    String s = t.text();
    try {
      if ((s.startsWith("0f") || s.startsWith("0F")) && s.length() == 10) {
        long bits = Long.parseLong(s.substring(2), 16);
        if (negative) {
          bits ^= 0x80000000L;
        }
        return new Operand.Imm(bits, Operand.Imm.Kind.F32);
      }
      if ((s.startsWith("0d") || s.startsWith("0D")) && s.length() == 18) {
        long bits = Long.parseUnsignedLong(s.substring(2), 16);
        if (negative) {
          bits ^= Long.MIN_VALUE;
        }
        return new Operand.Imm(bits, Operand.Imm.Kind.F64);
      }
      if (s.indexOf('.') >= 0 || ((s.indexOf('e') >= 0 || s.indexOf('E') >= 0) && !s.startsWith("0x")
          && !s.startsWith("0X"))) {
        double d = Double.parseDouble(s);
        return new Operand.Imm(Double.doubleToRawLongBits(negative ? -d : d), Operand.Imm.Kind.F64);
      }
      long v = parseInteger(s);
      return new Operand.Imm(negative ? -v : v, Operand.Imm.Kind.INT);
    } catch (NumberFormatException e) {
      throw new PtxException(t.line(), "malformed number " + s);
    }
  }

  private static long parseInteger(String s) {
    String body = s;
    if (body.endsWith("U") || body.endsWith("u")) {
      body = body.substring(0, body.length() - 1);
    }
    if (body.startsWith("0x") || body.startsWith("0X")) {
      return Long.parseUnsignedLong(body.substring(2), 16);
    }
    if (body.startsWith("0b") || body.startsWith("0B")) {
      return Long.parseUnsignedLong(body.substring(2), 2);
    }
    if (body.length() > 1 && body.startsWith("0")) {
      return Long.parseUnsignedLong(body.substring(1), 8);
    }
    return Long.parseUnsignedLong(body);
  }

  private static long integer(Token t) throws PtxException {
    if (t.kind() != Kind.NUMBER) {
      throw new PtxException(t.line(), "expected an integer, found " + t);
    }
    try {
      return parseInteger(t.text());
    } catch (NumberFormatException e) {
      throw new PtxException(t.line(), "malformed integer " + t.text());
    }
  }

  /** Bytes of a PTX scalar type, 0 for names that are not types. */
  public static int typeSize(String type) {
    return switch (type) {
      case "b8", "u8", "s8" -> 1;
      case "b16", "u16", "s16", "f16" -> 2;
      case "b32", "u32", "s32", "f32" -> 4;
      case "b64", "u64", "s64", "f64" -> 8;
      default -> 0;
    };
  }

  private static Space space(Token t) {
    String s = splitDots(t.text()).get(0);
    return switch (s) {
      case "global" -> Space.GLOBAL;
      case "const" -> Space.CONST;
      case "shared" -> Space.SHARED;
      case "local" -> Space.LOCAL;
      default -> Space.PARAM;
    };
  }

  /** {@code ".param.u64"} to {@code [param, u64]}. */
  private static List<String> splitDots(String s) {
    List<String> parts = new ArrayList<>(3);
    int start = s.startsWith(".") ? 1 : 0;
    for (int i = start; i <= s.length(); i++) {
      if (i == s.length() || s.charAt(i) == '.') {
        if (i > start) {
          parts.add(s.substring(start, i));
        }
        start = i + 1;
      }
    }
    return parts;
  }

  private static String word(Token t, String what) throws PtxException {
    if (t.kind() != Kind.WORD) {
      throw new PtxException(t.line(), "expected " + what + ", found " + t);
    }
    return t.text();
  }

  private void skipLine(Token t) {
    while (peek().kind() != Kind.EOF && peek().line() == t.line()) {
      next();
    }
  }

  private void skipTo(String end) throws PtxException {
    while (true) {
      Token t = next();
      if (t.is(end)) {
        return;
      }
      if (t.kind() == Kind.EOF) {
        throw new PtxException(t.line(), "expected '" + end + "' before the end of the module");
      }
    }
  }

  /** A debug {@code .section name { ... }}: skipped, counting braces without recursion. */
  private void skipSection(Token t) throws PtxException {
    next();
    expect("{");
    int depth = 1;
    while (depth > 0) {
      Token n = next();
      if (n.kind() == Kind.EOF) {
        throw new PtxException(t.line(), ".section opened here is not closed");
      }
      if (n.is("{")) {
        depth++;
      } else if (n.is("}")) {
        depth--;
      }
    }
  }

  private Token peek() {
    return tokens.get(pos);
  }

  private Token next() {
    Token t = tokens.get(pos);
    if (t.kind() != Kind.EOF) {
      pos++;
    }
    return t;
  }

  private void expect(String s) throws PtxException {
    Token t = next();
    if (!t.is(s)) {
      throw new PtxException(t.line(), "expected '" + s + "', found " + t);
    }
  }
}
