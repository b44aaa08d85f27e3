package io.spillway.agent.kube;

import io.spillway.agent.PeerPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jdk.net.UnixDomainPrincipal;

/**
 * Finds the process behind a connection to one allocation's socket. The shim names its pid as its own pid
 * namespace numbers it (a container's), and the JDK does not give the peer's pid; so the agent (with the
 * host's {@code /proc}, {@code hostPID}) looks for the process that
 * <ul>
 *   <li>has that pid innermost ({@code NSpid} in {@code /proc/<p>/status}),</li>
 *   <li>belongs to the peer's user,</li>
 *   <li>holds the shim's shared memory at the descriptor it named ({@code /memfd:spillway-shim}), and</li>
 *   <li>sees this allocation's socket, through its own root, at the path it was told to use
 *       ({@code SPILLWAY_AGENT_SOCKET} in its environment): the same file as ours. Only the container that
 *       the kubelet mounted this allocation into can.</li>
 * </ul>
 * Exactly one process must match. Outside a container (tests, a process on the host) the same rules hold:
 * its root is {@code /} and the innermost pid is the pid.
 */
public final class ContainerProcesses implements PeerPolicy {

  private final Path proc;
  private final Path socket;
  private final String defaultSocketPath;

  /**
   * @param socket            this allocation's socket, as the agent sees it
   * @param defaultSocketPath where a container finds it when its environment does not say
   */
  public ContainerProcesses(Path socket, String defaultSocketPath) {
    this(Path.of("/proc"), socket, defaultSocketPath);
  }

  ContainerProcesses(Path proc, Path socket, String defaultSocketPath) {
    this.proc = proc;
    this.socket = socket;
    this.defaultSocketPath = defaultSocketPath;
  }

  @Override
  public int procPid(UnixDomainPrincipal peer, int claimedPid, int shmFd) throws Refused {
    List<Integer> matches = new ArrayList<>();
    try (DirectoryStream<Path> all = Files.newDirectoryStream(proc, p -> p.getFileName().toString().matches("[0-9]+"))) {
      for (Path p : all) {
        if (matches(p, peer, claimedPid, shmFd)) {
          matches.add(Integer.parseInt(p.getFileName().toString()));
        }
      }
    } catch (IOException e) {
      throw new Refused("cannot read " + proc + ": " + e.getMessage());
    }
    if (matches.size() != 1) {
      throw new Refused(matches.isEmpty()
          ? "no process with pid " + claimedPid + " of user " + peer.user().getName() + " holding the shim's memory at fd "
              + shmFd + " sees this allocation's socket " + socket
          : "pid " + claimedPid + " is ambiguous: processes " + matches + " all match");
    }
    return matches.get(0);
  }

  private boolean matches(Path p, UnixDomainPrincipal peer, int claimedPid, int shmFd) {
    try {
      if (innermostPid(Files.readString(p.resolve("status"))) != claimedPid) {
        return false;
      }
      if (!Files.getOwner(p).getName().equals(peer.user().getName())) {
        return false;
      }
      Path fd = Files.readSymbolicLink(p.resolve("fd").resolve(String.valueOf(shmFd)));
      if (!fd.toString().startsWith("/memfd:spillway-shim")) {
        return false;
      }
      String told = socketFromEnviron(Files.readAllBytes(p.resolve("environ")));
      Path seen = p.resolve("root").resolve((told != null ? told : defaultSocketPath).replaceFirst("^/+", ""));
      return Files.isSameFile(seen, socket);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** The last {@code NSpid} field (the pid in the process's own namespace), or its {@code Pid}. */
  static int innermostPid(String status) {
    int pid = -1;
    for (String line : status.split("\n")) {
      if (line.startsWith("NSpid:")) {
        String[] f = line.substring(6).strip().split("\\s+");
        return Integer.parseInt(f[f.length - 1]);
      }
      if (line.startsWith("Pid:")) {
        pid = Integer.parseInt(line.substring(4).strip());
      }
    }
    return pid;
  }

  static String socketFromEnviron(byte[] environ) {
    for (String kv : new String(environ, StandardCharsets.UTF_8).split("\0")) {
      if (kv.startsWith("SPILLWAY_AGENT_SOCKET=")) {
        return kv.substring("SPILLWAY_AGENT_SOCKET=".length());
      }
    }
    return null;
  }
}
