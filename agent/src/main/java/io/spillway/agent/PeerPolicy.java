package io.spillway.agent;

import jdk.net.UnixDomainPrincipal;

/**
 * Who may connect to an agent socket, and which process a connection is. The shim names its process id
 * (as its own pid namespace numbers it) and a descriptor of its shared memory; the agent opens that memory
 * through {@code /proc/<pid>/fd}, so the policy must answer the pid under which this agent's {@code /proc}
 * shows that same process, or refuse.
 */
@FunctionalInterface
public interface PeerPolicy {

  /** Why a connection may not act as the process it names. */
  final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    public Refused(String why) {
      super(why);
    }
  }

  /**
   * @param peer       the connection's peer credentials ({@code SO_PEERCRED})
   * @param claimedPid the pid the shim sent
   * @param shmFd      the descriptor number of the shim's shared memory in that process
   * @return the pid of the process in this agent's {@code /proc}
   */
  int procPid(UnixDomainPrincipal peer, int claimedPid, int shmFd) throws Refused;

  /** The policy bound to one connection's peer. */
  @FunctionalInterface
  interface Resolver {
    int procPid(int claimedPid, int shmFd) throws Refused;
  }

  /**
   * The agent's own socket: the peer must be the agent's user (or the agent root), and the process must
   * belong to the peer user and be visible here under the pid it names (same pid namespace).
   */
  PeerPolicy SAME_USER = (peer, pid, fd) -> {
    String why = AgentServer.checkPeer(peer, pid);
    if (why != null) {
      throw new Refused(why);
    }
    return pid;
  };
}
