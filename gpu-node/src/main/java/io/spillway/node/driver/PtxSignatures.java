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
      List<ParamType> params = List.of();
      int open = entry.end();
      if (open < text.length() && text.charAt(open) == '(') {
        int close = text.indexOf(')', open);
        if (close < 0) {
          throw new IllegalArgumentException(
              "PTX .entry " + name + ": parameter list opened at offset " + open + " is not closed");
        }
        params = parseParams(text.substring(open + 1, close));
      }
      result.put(name, new KernelSignature(name, params));
    }
    return Collections.unmodifiableMap(result);
  }

  private static List<ParamType> parseParams(String list) {
    List<ParamType> params = new ArrayList<>();
    for (String decl : list.split(",")) {
      if (!decl.isBlank()) {
        params.add(classify(decl));
      }
    }
    return params;
  }

  private static ParamType classify(String decl) {
    if (decl.indexOf('[') >= 0) {
      return ParamType.OTHER;
    }
    String[] tokens = TOKEN_BREAK.split(decl.trim());
    for (int i = 0; i < tokens.length; i++) {
      String t = tokens[i];
      if (t.isEmpty()) {
        continue;
      }
      if (t.equals(".align")) {
        i++;
        continue;
      }
      switch (t) {
        case ".param", ".ptr", ".global", ".const", ".local", ".shared":
          continue;
        case ".u64", ".s64", ".b64":
          return ParamType.B64;
        case ".u32", ".s32", ".b32":
          return ParamType.B32;
        case ".f32":
          return ParamType.F32;
        case ".f64":
          return ParamType.F64;
        default:
          return ParamType.OTHER;
      }
    }
    return ParamType.OTHER;
  }
}
