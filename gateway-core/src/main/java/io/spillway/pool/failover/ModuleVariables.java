package io.spillway.pool.failover;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Whether a module image declares module-scope variables, and writable ({@code .global}) ones, read
 * from its PTX text: a state-space directive that begins a statement at module scope (inside a
 * function, {@code .global} only appears after a dot, as in {@code ld.global}, or after
 * {@code .ptr} in a parameter). An image that is not PTX text (a cubin) is assumed to have both.
 */
record ModuleVariables(boolean any, boolean writable) {
  private static final Pattern COMMENTS = Pattern.compile("//[^\\n]*|/\\*.*?\\*/", Pattern.DOTALL);
  private static final Pattern GLOBAL = Pattern.compile(
      "(?m)^\\s*(?:\\.(?:visible|extern|weak)\\s+)*\\.global\\s");
  private static final Pattern CONST = Pattern.compile(
      "(?m)^\\s*(?:\\.(?:visible|extern|weak)\\s+)*\\.const\\s");

  static ModuleVariables of(ByteString image) {
    String text = image.toString(StandardCharsets.ISO_8859_1);
    if (!text.contains(".entry") && !text.contains(".version")) {
      return new ModuleVariables(true, true);
    }
    String code = COMMENTS.matcher(text).replaceAll(" ");
    boolean global = GLOBAL.matcher(code).find();
    return new ModuleVariables(global || CONST.matcher(code).find(), global);
  }
}
