package io.spillway.simulator.trace;

import io.spillway.topology.DataSize;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The CSV trace format, for operators' own session logs.
 *
 * <pre>
 * arrival_s,duration_s,tenant,memory,compute_percent,models
 * 0,1260,search-ranking,8GiB,25,
 * 4.5,600,ocr,4294967296,10,V100|P40
 * </pre>
 *
 * <ul>
 *   <li>{@code arrival_s}: seconds from the start of the trace, a number {@code >= 0} (fractions allowed);
 *       rows need not be sorted (the simulator orders them by arrival, ties in file order).
 *   <li>{@code duration_s}: seconds the session holds its slice, {@code > 0}.
 *   <li>{@code tenant}: a tenant of the topology.
 *   <li>{@code memory}: bytes ({@code 8589934592}) or a size as the topology writes it ({@code 8GiB},
 *       {@code 512MiB}, {@code 8GB}).
 *   <li>{@code compute_percent}: an integer 0..100.
 *   <li>{@code models}: accepted card models separated by {@code |} ({@code V100|P40}); empty: any.
 * </ul>
 *
 * The header line is required and must be exactly that. Blank lines and lines starting with {@code #}
 * are skipped. Fields are not quoted (no field contains a comma).
 */
public final class TraceCsv {

  public static final String HEADER = "arrival_s,duration_s,tenant,memory,compute_percent,models";
  private static final String[] COLUMNS = HEADER.split(",");

  private TraceCsv() {}

  public static List<TraceSession> read(Path file) throws IOException, TraceFormatException {
    return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
  }

  /**
   * Parses a whole trace; {@code name} is the file name used in messages.
   *
   * @throws TraceFormatException at the first bad field, naming its line, column and column name
   */
  public static List<TraceSession> parse(String text, String name) throws TraceFormatException {
    String[] lines = text.split("\r?\n", -1);
    int headerLine = -1;
    List<TraceSession> out = new ArrayList<>();
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      int lineNo = i + 1;
      if (line.isBlank() || line.stripLeading().startsWith("#")) {
        continue;
      }
      if (headerLine < 0) {
        if (!line.strip().equals(HEADER)) {
          throw new TraceFormatException(name, lineNo, 1,
              "header: expected `" + HEADER + "`, found `" + line.strip() + "`");
        }
        headerLine = lineNo;
        continue;
      }
      out.add(row(name, lineNo, line));
    }
    if (headerLine < 0) {
      throw new TraceFormatException(name, 1, 1, "header: the trace is empty; expected the header `" + HEADER + "`");
    }
    return List.copyOf(out);
  }

  private static TraceSession row(String name, int lineNo, String line) throws TraceFormatException {
    String[] fields = line.split(",", -1);
    int[] starts = new int[fields.length];
    int pos = 1;
    for (int f = 0; f < fields.length; f++) {
      starts[f] = pos;
      pos += fields[f].length() + 1;
    }
    if (fields.length != COLUMNS.length) {
      int col = fields.length > COLUMNS.length ? starts[COLUMNS.length] : line.length() + 1;
      throw new TraceFormatException(name, lineNo, col, "expected " + COLUMNS.length + " fields ("
          + HEADER + "), found " + fields.length);
    }
    double arrival = number(name, lineNo, starts, fields, 0, ">= 0", v -> v >= 0);
    double duration = number(name, lineNo, starts, fields, 1, "> 0", v -> v > 0);
    String tenant = fields[2].strip();
    if (tenant.isEmpty()) {
      throw error(name, lineNo, starts, fields, 2, "is empty; expected a tenant of the topology");
    }
    long memory;
    try {
      memory = DataSize.parse(fields[3]).bytes();
    } catch (IllegalArgumentException e) {
      throw error(name, lineNo, starts, fields, 3, e.getMessage());
    }
    if (memory <= 0) {
      throw error(name, lineNo, starts, fields, 3, "must be more than 0 bytes");
    }
    int compute;
    try {
      compute = Integer.parseInt(fields[4].strip());
    } catch (NumberFormatException e) {
      throw error(name, lineNo, starts, fields, 4, "\"" + fields[4].strip() + "\" is not an integer; expected 0..100");
    }
    if (compute < 0 || compute > 100) {
      throw error(name, lineNo, starts, fields, 4, compute + " is out of range; expected 0..100");
    }
    List<String> models = new ArrayList<>();
    if (!fields[5].isBlank()) {
      for (String m : fields[5].split("\\|", -1)) {
        if (m.isBlank()) {
          throw error(name, lineNo, starts, fields, 5, "\"" + fields[5]
              + "\" has an empty model; expected models separated by |, e.g. V100|P40");
        }
        models.add(m.strip());
      }
    }
    return new TraceSession(arrival, duration, tenant, memory, compute, models, name + ":" + lineNo);
  }

  private interface DoubleCheck {
    boolean ok(double v);
  }

  private static double number(String name, int lineNo, int[] starts, String[] fields, int i, String range,
      DoubleCheck check) throws TraceFormatException {
    double v;
    try {
      v = Double.parseDouble(fields[i].strip());
    } catch (NumberFormatException e) {
      throw error(name, lineNo, starts, fields, i, "\"" + fields[i].strip() + "\" is not a number; expected seconds " + range);
    }
    if (!Double.isFinite(v) || !check.ok(v)) {
      throw error(name, lineNo, starts, fields, i, fields[i].strip() + " is out of range; expected seconds " + range);
    }
    return v;
  }

  private static TraceFormatException error(String name, int lineNo, int[] starts, String[] fields, int i,
      String message) {
    return new TraceFormatException(name, lineNo, starts[i] + leading(fields[i]), COLUMNS[i] + ": " + message);
  }

  private static int leading(String field) {
    int n = 0;
    while (n < field.length() && Character.isWhitespace(field.charAt(n))) {
      n++;
    }
    return n == field.length() ? 0 : n;
  }

  /** Writes sessions in this format, memory in bytes, so that {@link #parse} reads them back exactly. */
  public static void write(List<TraceSession> sessions, Writer out) throws IOException {
    out.write(HEADER);
    out.write('\n');
    for (TraceSession s : sessions) {
      out.write(String.format(Locale.ROOT, "%s,%s,%s,%d,%d,%s\n", num(s.arrivalSeconds()),
          num(s.durationSeconds()), s.tenant(), s.memoryBytes(), s.computePercent(), String.join("|", s.models())));
    }
  }

  private static String num(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }
}
