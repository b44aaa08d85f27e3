package io.spillway.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Who listens on a TCP port, as far as this user may see: Linux's {@code /proc/net/tcp} and {@code tcp6}
 * give the listening socket's inode and owner, and {@code /proc/PID/fd} links name the process holding
 * it. Processes of other users are not readable; then only the owner's uid is known. Elsewhere than
 * Linux, nothing is known.
 */
final class PortHolders {
  private static final String LISTEN = "0A";
  private static final Path PROC = Path.of("/proc");

  private PortHolders() {}

  /** {@code pid 4242 (python3 -m http.server 19092)}, or {@code a process of uid 1001}; empty if unknown. */
  static Optional<String> describe(int port) {
    Set<String> inodes = new HashSet<>();
    Set<String> uids = new HashSet<>();
    for (String table : List.of("net/tcp", "net/tcp6")) {
      List<String> lines;
      try {
        lines = Files.readAllLines(PROC.resolve(table), StandardCharsets.US_ASCII);
      } catch (IOException | UnsupportedOperationException e) {
        continue;
      }
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
        String[] f = line.trim().split("\\s+");
        if (f.length < 10 || !f[3].equals(LISTEN)) {
          continue;
        }
        String local = f[1];
        int colon = local.lastIndexOf(':');
        if (colon < 0 || Integer.parseInt(local.substring(colon + 1), 16) != port) {
          continue;
        }
        inodes.add(f[9]);
        uids.add(f[7]);
      }
    }
    if (inodes.isEmpty()) {
      return Optional.empty();
    }
    Optional<String> holder = holderOf(inodes);
    if (holder.isPresent()) {
      return holder;
    }
    return Optional.of("a process of uid " + String.join(", ", uids) + " (not visible to this user)");
  }

  private static Optional<String> holderOf(Set<String> inodes) {
    Set<String> links = new HashSet<>();
    inodes.forEach(i -> links.add("socket:[" + i + "]"));
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(PROC, p -> p.getFileName().toString().matches("\\d+"))) {
      for (Path proc : procs) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
          for (Path fd : fds) {
            if (links.contains(readLink(fd))) {
              return Optional.of("pid " + proc.getFileName() + " (" + commandLine(proc) + ")");
            }
          }
        } catch (IOException | SecurityException notOurs) {
          // another user's process, or one that just ended
        }
      }
    } catch (IOException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  private static String readLink(Path fd) {
    try {
      return Files.readSymbolicLink(fd).toString();
    } catch (IOException | UnsupportedOperationException e) {
      return "";
    }
  }

  /** The command line, shortened: a JVM shows its main class or jar, not its class path. */
  static String commandLine(Path proc) {
    byte[] raw;
    try {
      raw = Files.readAllBytes(proc.resolve("cmdline"));
    } catch (IOException e) {
      return "?";
    }
    List<String> args = new ArrayList<>(List.of(new String(raw, StandardCharsets.UTF_8).split("\0")));
    return shorten(args);
  }

  static String shorten(List<String> args) {
    if (args.isEmpty() || args.get(0).isEmpty()) {
      return "?";
    }
    List<String> shown = new ArrayList<>();
    String program = Path.of(args.get(0)).getFileName().toString();
    shown.add(program);
    if (program.equals("java")) {
      for (int i = 1; i < args.size(); i++) {
        String a = args.get(i);
        if (a.equals("-cp") || a.equals("-classpath") || a.equals("--class-path")) {
          i++;
        } else if (a.equals("-jar") && i + 1 < args.size()) {
          shown.add("-jar " + args.get(i + 1));
          shown.addAll(args.subList(i + 2, args.size()));
          break;
        } else if (!a.startsWith("-")) {
          shown.addAll(args.subList(i, args.size()));
          break;
        }
      }
    } else {
      shown.addAll(args.subList(1, args.size()));
    }
    String s = String.join(" ", shown);
    return s.length() > 100 ? s.substring(0, 97) + "..." : s;
  }
}
