package io.spillway.client.internal;

import io.spillway.client.KernelArg;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a module image says about its functions in its own metadata: lines of its leading comment block
 * (PTX {@code //} comments, before the first directive) of the form
 * <pre>// spillway.pointer-access FUNCTION ACCESS,ACCESS,...</pre>
 * one ACCESS a parameter: {@code in} (reads only), {@code out} (writes before reading), {@code inout},
 * or {@code -} (a value, or not said). The kernel library's PTX carries them (kernels/build-ptx.sh copies
 * them from its source); the SDK fills in the access of a pointer passed without one from them. An image
 * without such lines (a cubin, any other PTX) declares nothing.
 */
final class ModuleDescriptor {

  static final String POINTER_ACCESS = "spillway.pointer-access";

  private ModuleDescriptor() {}

  /**
   * Each declared function's access by parameter index.
   *
   * @throws IllegalArgumentException naming the line, when a descriptor line is malformed
   */
  static Map<String, List<KernelArg.Access>> pointerAccess(byte[] image) {
    Map<String, List<KernelArg.Access>> out = new HashMap<>();
    int start = 0;
    while (start < image.length) {
      int first = start;
      while (first < image.length && (image[first] == ' ' || image[first] == '\t' || image[first] == '\r'
          || image[first] == 0)) {
        first++;
      }
      if (first < image.length && image[first] == '\n') {
        start = first + 1;
        continue;
      }
      // Only comment lines are decoded: a binary image (a cubin) ends the scan at its first bytes.
      if (first + 1 >= image.length || image[first] != '/' || image[first + 1] != '/') {
        break;
      }
      int end = first;
      while (end < image.length && image[end] != '\n') {
        end++;
      }
      String line = new String(image, first, end - first, StandardCharsets.ISO_8859_1).strip();
      start = end + 1;
      String comment = line.substring(2).strip();
      if (!comment.startsWith(POINTER_ACCESS + " ")) {
        continue;
      }
      String[] words = comment.substring(POINTER_ACCESS.length()).strip().split("\\s+");
      if (words.length != 2) {
        throw malformed(line, "expected a function name and a comma-separated access per parameter");
      }
      List<KernelArg.Access> params = new ArrayList<>();
      for (String a : words[1].split(",", -1)) {
        params.add(switch (a) {
          case "in" -> KernelArg.Access.READ;
          case "out" -> KernelArg.Access.WRITE;
          case "inout" -> KernelArg.Access.READ_WRITE;
          case "-" -> KernelArg.Access.UNSPECIFIED;
          default -> throw malformed(line, "'" + a + "' is not in, out, inout or -");
        });
      }
      if (out.put(words[0], List.copyOf(params)) != null) {
        throw malformed(line, "function " + words[0] + " is declared twice");
      }
    }
    return Map.copyOf(out);
  }

  private static IllegalArgumentException malformed(String line, String why) {
    return new IllegalArgumentException("loadModule image has a malformed module descriptor line '" + line
        + "': " + why);
  }
}
