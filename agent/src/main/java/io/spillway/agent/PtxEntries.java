package io.spillway.agent;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the {@code .entry} declarations of a PTX module: each kernel's parameter list and from it the
 * byte layout of the parameter buffer. Only the declarations are read; the body is the node's business.
 */
public final class PtxEntries {

  private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+([A-Za-z_$%][\\w$%]*)\\s*\\(([^)]*)\\)");
  private static final Pattern NO_PARAMS = Pattern.compile("\\.entry\\s+([A-Za-z_$%][\\w$%]*)\\s*(?=\\{|\\.max|\\.min|\\.req|\\.noreturn|\\.maxn)");
  private static final Pattern ARRAY = Pattern.compile("^(.*)\\[(\\d+)\\]$");

  private PtxEntries() {
  }

  /** Every kernel of {@code ptx} by name, in order of declaration. */
  public static Map<String, KernelLayout> parse(String ptx) {
    String text = stripComments(ptx);
    Map<String, KernelLayout> out = new LinkedHashMap<>();
    Matcher m = ENTRY.matcher(text);
    while (m.find()) {
      String name = m.group(1);
      out.put(name, layout(name, m.group(2)));
    }
    Matcher n = NO_PARAMS.matcher(text);
    while (n.find()) {
      out.putIfAbsent(n.group(1), new KernelLayout(n.group(1), List.of(), 0));
    }
    return out;
  }

  private static KernelLayout layout(String kernel, String list) {
    List<KernelLayout.Param> params = new ArrayList<>();
    int offset = 0;
    int index = 0;
    for (String raw : list.split(",")) {
      String decl = raw.strip();
      if (decl.isEmpty()) {
        continue;
      }
      String[] tokens = decl.split("\\s+");
      int align = 0;
      String type = null;
      String name = null;
      for (int i = 0; i < tokens.length; i++) {
        String t = tokens[i];
        if (t.equals(".param") || t.equals(".ptr") || t.equals(".global") || t.equals(".const")
            || t.equals(".shared") || t.equals(".local")) {
          continue;
        }
        if (t.equals(".align")) {
          if (i + 1 >= tokens.length) {
            throw new IllegalArgumentException("kernel " + kernel + " parameter " + index + ": .align without a value");
          }
          int a = Integer.parseInt(tokens[++i]);
          if (type == null) {
            align = a; /* an .align after the type belongs to .ptr: what it points to, not the slot */
          }
          continue;
        }
        if (t.startsWith(".")) {
          type = t;
        } else {
          name = t;
        }
      }
      if (type == null || name == null) {
        throw new IllegalArgumentException("kernel " + kernel + " parameter " + index + " \"" + decl
            + "\" has no type or no name");
      }
      int width = width(kernel, index, type);
      int count = 1;
      Matcher arr = ARRAY.matcher(name);
      if (arr.matches()) {
        name = arr.group(1);
        count = Integer.parseInt(arr.group(2));
      }
      int size = width * count;
      int a = align > 0 ? align : width;
      offset = (offset + a - 1) / a * a;
      KernelLayout.Kind kind = count > 1 || type.equals(".b8") && align > 1 ? KernelLayout.Kind.BYTES
          : type.equals(".f64") ? KernelLayout.Kind.F64
          : width == 8 ? KernelLayout.Kind.B64 : KernelLayout.Kind.SCALAR;
      params.add(new KernelLayout.Param(name, offset, size, a, kind));
      offset += size;
      index++;
    }
    return new KernelLayout(kernel, params, offset);
  }

  private static int width(String kernel, int index, String type) {
    switch (type) {
      case ".b8": case ".u8": case ".s8": case ".pred":
        return 1;
      case ".b16": case ".u16": case ".s16": case ".f16":
        return 2;
      case ".b32": case ".u32": case ".s32": case ".f32": case ".f16x2":
        return 4;
      case ".b64": case ".u64": case ".s64": case ".f64":
        return 8;
      default:
        throw new IllegalArgumentException("kernel " + kernel + " parameter " + index + " has type " + type
            + ", expected one of .b8/.u8/.s8/.b16/.u16/.s16/.f16/.b32/.u32/.s32/.f32/.b64/.u64/.s64/.f64");
    }
  }

  private static String stripComments(String s) {
    return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
  }
}
