package io.spillway.node.driver;

import io.spillway.node.driver.KernelSignature.ParamType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads kernel signatures from PTX text: every {@code .entry name ( .param ... )} directive, in the order
 * the image declares them. Only the parameter list is read; the PTX is not otherwise validated (that is
 * the CUDA driver's job on load).
 */
public final class PtxSignatures {

  private static final Pattern COMMENTS = Pattern.compile("//[^\\n]*|/\\*.*?\\*/", Pattern.DOTALL);
  private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+([A-Za-z_$%][\\w$]*)\\s*");

  /** Splits at whitespace and before each directive, so {@code .param.u64} reads like {@code .param .u64}. */
  private static final Pattern TOKEN_BREAK = Pattern.compile("\\s+|(?=\\.)");

  private PtxSignatures() {}

  /**
   * The signatures of every {@code .entry} in {@code ptx}, by function name, in declaration order.
   * Parameters are classified by their first type directive: {@code .u64/.s64/.b64} as
   * {@link ParamType#B64}, {@code .u32/.s32/.b32} as {@link ParamType#B32}, {@code .f32}, {@code .f64},
   * and anything else (other widths, arrays such as {@code .align 8 .b8 p[16]}) as
   * {@link ParamType#OTHER}.
   *
   * @throws IllegalArgumentException if an {@code .entry} parameter list is not closed
   */
  public static Map<String, KernelSignature> parse(String ptx) {
    String text = COMMENTS.matcher(ptx).replaceAll(" ");
    Map<String, KernelSignature> result = new LinkedHashMap<>();
    Matcher entry = ENTRY.matcher(text);
    while (entry.find()) {
      String name = entry.group(1);
      List<KernelSignature.Param> params = List.of();
      int open = entry.end();
      if (open < text.length() && text.charAt(open) == '(') {
        int close = text.indexOf(')', open);
        if (close < 0) {
          throw new IllegalArgumentException(
              "PTX .entry " + name + ": parameter list opened at offset " + open + " is not closed");
        }
        params = parseParams(text.substring(open + 1, close));
      }
      result.put(name, KernelSignature.laidOut(name, params));
    }
    return Collections.unmodifiableMap(result);
  }

  private static List<KernelSignature.Param> parseParams(String list) {
    List<KernelSignature.Param> params = new ArrayList<>();
    for (String decl : list.split(",")) {
      if (!decl.isBlank()) {
        params.add(classify(decl));
      }
    }
    return params;
  }

  private static KernelSignature.Param classify(String decl) {
    String[] tokens = TOKEN_BREAK.split(decl.trim().replace("[", " [").replace(']', ' '));
    int align = 0;
    ParamType type = null;
    int width = 0;
    String name = "";
    long count = -1;
    for (int i = 0; i < tokens.length; i++) {
      String t = tokens[i];
      if (t.isEmpty()) {
        continue;
      }
      if (t.equals(".align") && i + 1 < tokens.length) {
        align = Integer.parseInt(tokens[++i].trim());
        continue;
      }
      if (t.startsWith("[")) {
        count = Long.parseLong(t.substring(1).trim());
        continue;
      }
      if (!t.startsWith(".")) {
        name = t;
        continue;
      }
      switch (t) {
        case ".param", ".ptr", ".global", ".const", ".local", ".shared":
          continue;
        case ".u64", ".s64", ".b64":
          type = type == null ? ParamType.B64 : type;
          width = 8;
          break;
        case ".u32", ".s32", ".b32":
          type = type == null ? ParamType.B32 : type;
          width = 4;
          break;
        case ".f32":
          type = type == null ? ParamType.F32 : type;
          width = 4;
          break;
        case ".f64":
          type = type == null ? ParamType.F64 : type;
          width = 8;
          break;
        case ".u16", ".s16", ".b16", ".f16":
          type = type == null ? ParamType.OTHER : type;
          width = 2;
          break;
        case ".u8", ".s8", ".b8":
          type = type == null ? ParamType.OTHER : type;
          width = 1;
          break;
        default:
          type = type == null ? ParamType.OTHER : type;
      }
    }
    if (type == null) {
      type = ParamType.OTHER;
    }
    int size = width;
    if (count >= 0) {
      type = ParamType.BYTES;
      size = (int) (count * Math.max(1, width));
    }
    return new KernelSignature.Param(name, 0, size, align > 0 ? align : Math.max(1, width), type);
  }
}
