package io.spillway.agent;

import io.spillway.client.SliceRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The slice a program asks for, as {@code spillway run} passes it to the shim ({@code SPILLWAY_SLICE}) and
 * the shim to the agent: {@code gpus=1,memory=8GiB,compute=25,model=V100+P40} or {@code percent=50} in
 * place of {@code memory}. Keys may be omitted; the agent's defaults fill them in.
 *
 * @param gpus           GPUs, 0 when not given
 * @param memoryBytes    memory per GPU in bytes, 0 when not given
 * @param memoryPercent  memory per GPU in percent of the card, 0 when not given
 * @param computePercent compute share, -1 when not given
 * @param models         accepted card models, empty for any
 */
public record SliceSpec(int gpus, long memoryBytes, int memoryPercent, int computePercent, List<String> models) {

  public SliceSpec {
    models = List.copyOf(models);
  }

  public static final SliceSpec EMPTY = new SliceSpec(0, 0, 0, -1, List.of());

  /** Parses the text; an error names the key and the value. */
  public static SliceSpec parse(String text) {
    int gpus = 0;
    long memory = 0;
    int percent = 0;
    int compute = -1;
    List<String> models = new ArrayList<>();
    if (text == null || text.isBlank()) {
      return EMPTY;
    }
    for (String part : text.split(",")) {
      String p = part.strip();
      if (p.isEmpty()) {
        continue;
      }
      int eq = p.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("slice \"" + text + "\": \"" + p + "\" is not key=value");
      }
      String key = p.substring(0, eq).strip().toLowerCase(Locale.ROOT);
      String value = p.substring(eq + 1).strip();
      switch (key) {
        case "gpus" -> gpus = intIn(key, value, 1, SliceRequest.MAX_GPUS);
        case "memory" -> memory = bytes(key, value);
        case "percent" -> percent = intIn(key, value, 1, 100);
        case "compute" -> compute = intIn(key, value, 0, 100);
        case "model" -> {
          for (String m : value.split("\\+")) {
            if (!m.isBlank()) {
              models.add(m.strip());
            }
          }
        }
        default -> throw new IllegalArgumentException("slice \"" + text + "\": unknown key " + key
            + " (expected gpus, memory, percent, compute, model)");
      }
    }
    if (memory > 0 && percent > 0) {
      throw new IllegalArgumentException("slice \"" + text + "\": memory and percent are both set; set one");
    }
    return new SliceSpec(gpus, memory, percent, compute, models);
  }

  /** This spec with the keys it leaves open taken from {@code defaults}. */
  public SliceSpec orElse(SliceSpec defaults) {
    boolean ownMemory = memoryBytes > 0 || memoryPercent > 0;
    return new SliceSpec(gpus > 0 ? gpus : defaults.gpus, ownMemory ? memoryBytes : defaults.memoryBytes,
        ownMemory ? memoryPercent : defaults.memoryPercent, computePercent >= 0 ? computePercent : defaults.computePercent,
        models.isEmpty() ? defaults.models : models);
  }

  /** The text form {@link #parse} reads. */
  public String text() {
    List<String> parts = new ArrayList<>();
    if (gpus > 0) {
      parts.add("gpus=" + gpus);
    }
    if (memoryBytes > 0) {
      parts.add("memory=" + memoryBytes);
    }
    if (memoryPercent > 0) {
      parts.add("percent=" + memoryPercent);
    }
    if (computePercent >= 0) {
      parts.add("compute=" + computePercent);
    }
    if (!models.isEmpty()) {
      parts.add("model=" + String.join("+", models));
    }
    return String.join(",", parts);
  }

  /** The SDK request for {@code tenant}; memory must have been given here or by the defaults. */
  public SliceRequest request(String tenant, String clientName) {
    SliceRequest.Builder b = SliceRequest.builder().tenant(tenant).gpuCount(Math.max(1, gpus))
        .computePercent(Math.max(0, computePercent)).clientName(clientName);
    if (memoryBytes > 0) {
      b.memoryBytes(memoryBytes);
    } else if (memoryPercent > 0) {
      b.memoryPercent(memoryPercent);
    } else {
      throw new IllegalArgumentException("slice \"" + text() + "\" says no memory: give memory=BYTES or percent=N");
    }
    if (!models.isEmpty()) {
      b.models(models.toArray(String[]::new));
    }
    return b.build();
  }

  /** Parses sizes such as {@code 8GiB}, {@code 512MiB}, {@code 1000000} (bytes). */
  public static long bytes(String key, String value) {
    String v = value.strip();
    long unit = 1;
    String[][] units = {{"KiB", "1024"}, {"MiB", "1048576"}, {"GiB", "1073741824"}, {"TiB", "1099511627776"},
        {"KB", "1000"}, {"MB", "1000000"}, {"GB", "1000000000"}, {"K", "1024"}, {"M", "1048576"},
        {"G", "1073741824"}, {"B", "1"}};
    for (String[] u : units) {
      if (v.regionMatches(true, v.length() - u[0].length(), u[0], 0, u[0].length()) && v.length() > u[0].length()) {
        unit = Long.parseLong(u[1]);
        v = v.substring(0, v.length() - u[0].length()).strip();
        break;
      }
    }
    try {
      long n = Long.parseLong(v);
      if (n < 1 || n > Long.MAX_VALUE / unit) {
        throw new NumberFormatException();
      }
      return n * unit;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + "=" + value + " is invalid: expected a size such as 8GiB, 512MiB or 1000000");
    }
  }

  private static int intIn(String key, String value, int min, int max) {
    try {
      int n = Integer.parseInt(value);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // fall through to the error naming the range
    }
    throw new IllegalArgumentException(key + "=" + value + " is invalid: expected " + min + ".." + max);
  }
}
