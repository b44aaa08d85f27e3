package io.spillway.ptx.parse;

import io.spillway.ptx.PtxException;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits PTX text into tokens in one left-to-right pass: every character is looked at a bounded
 * number of times, so the time is linear in the text whatever it holds (an unterminated comment is
 * found when the pass reaches the end, not by searching again from each position).
 *
 * <p>Words keep their dots: {@code ld.global.f32}, {@code %tid.x}, {@code .param} and
 * {@code $L__BB0_2} are one token each. Comments of both kinds are dropped.
 */
final class Lexer {

  enum Kind { WORD, NUMBER, STRING, PUNCT, EOF }

  record Token(Kind kind, String text, int line) {
    boolean is(String s) {
      return text.equals(s) && kind != Kind.STRING;
    }

    @Override
    public String toString() {
      return kind == Kind.EOF ? "end of module" : "'" + text + "'";
    }
  }

  private Lexer() {}

  static List<Token> tokens(String text) throws PtxException {
    List<Token> out = new ArrayList<>(Math.max(16, text.length() / 5));
    int n = text.length();
    int line = 1;
    int i = 0;
    while (i < n) {
      char c = text.charAt(i);
      if (c == '\n') {
        line++;
        i++;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
        i++;
      } else if (c == '/' && i + 1 < n && text.charAt(i + 1) == '/') {
        while (i < n && text.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '/' && i + 1 < n && text.charAt(i + 1) == '*') {
        int opened = line;
        i += 2;
        boolean closed = false;
        while (i < n) {
          char d = text.charAt(i);
          if (d == '*' && i + 1 < n && text.charAt(i + 1) == '/') {
            i += 2;
            closed = true;
            break;
          }
          if (d == '\n') {
            line++;
          }
          i++;
        }
        if (!closed) {
          throw new PtxException(opened, "comment opened with /* is not closed before the end of the module");
        }
      } else if (c == '"') {
        int start = i++;
        while (i < n && text.charAt(i) != '"' && text.charAt(i) != '\n') {
          i++;
        }
        if (i >= n || text.charAt(i) != '"') {
          throw new PtxException(line, "string is not closed on its line");
        }
        i++;
        out.add(new Token(Kind.STRING, text.substring(start + 1, i - 1), line));
      } else if (isWordStart(c)) {
        int start = i++;
        while (i < n && isWordPart(text.charAt(i))) {
          i++;
        }
        out.add(new Token(Kind.WORD, text.substring(start, i), line));
      } else if (c >= '0' && c <= '9') {
        int start = i++;
        while (i < n && (Character.isLetterOrDigit(text.charAt(i)) || text.charAt(i) == '.')) {
          i++;
        }
        out.add(new Token(Kind.NUMBER, text.substring(start, i), line));
      } else if ("{}()[]<>,;:+-!@|=".indexOf(c) >= 0) {
        out.add(new Token(Kind.PUNCT, String.valueOf(c), line));
        i++;
      } else {
        throw new PtxException(line, "unexpected character " + describe(c));
      }
    }
    out.add(new Token(Kind.EOF, "", line));
    return out;
  }

  private static boolean isWordStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c == '%'
        || c == '.';
  }

  private static boolean isWordPart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
        || c == '$' || c == '.';
  }

  private static String describe(char c) {
    return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("0x%02x", (int) c);
  }
}
