package io.spillway.agent;

import java.nio.file.Path;

/**
 * How an agent runs.
 *
 * @param socket         the Unix socket the shims connect to
 * @param gateway        the edge gateway ({@code host:port}) the sessions go to
 * @param tenant         the tenant every session counts against (the agent's credential; the security
 *                       work replaces this with a real one)
 * @param defaults       the slice a program gets for what it does not ask
 * @param maxMemoryBytes the most memory per GPU one program may ask for; 0 for no limit
 * @param maxGpus        the most GPUs one program may ask for
 */
public record AgentConfig(Path socket, String gateway, String tenant, SliceSpec defaults, long maxMemoryBytes,
    int maxGpus) {

  public AgentConfig {
    if (socket == null) {
      throw new IllegalArgumentException("socket must be set");
    }
    if (gateway == null || gateway.isBlank()) {
      throw new IllegalArgumentException("gateway=" + gateway + " is invalid: expected host:port");
    }
    if (tenant == null || tenant.isBlank()) {
      throw new IllegalArgumentException("tenant=" + tenant + " is invalid: expected a tenant name");
    }
    if (maxGpus < 1) {
      throw new IllegalArgumentException("maxGpus=" + maxGpus + " is invalid: expected at least 1");
    }
  }

  /** The default socket of a user: where the shim looks when SPILLWAY_AGENT_SOCKET is not set. */
  public static Path defaultSocket() {
    String uid = System.getProperty("spillway.uid");
    if (uid == null) {
      try {
        uid = String.valueOf(java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
      } catch (java.io.IOException | UnsupportedOperationException e) {
        uid = System.getProperty("user.name");
      }
    }
    return Path.of("/tmp", "spillway-agent-" + uid + ".sock");
  }

  /** Refuses a slice beyond what this agent lets one program have. */
  void check(SliceSpec slice) {
    if (slice.gpus() > maxGpus) {
      throw new ShimConnection.CudaError(ShimConnection.NO_DEVICE, "slice asks for " + slice.gpus()
          + " GPUs; this agent gives a program at most " + maxGpus);
    }
    if (maxMemoryBytes > 0 && slice.memoryBytes() > maxMemoryBytes) {
      throw new ShimConnection.CudaError(ShimConnection.OUT_OF_MEMORY, "slice asks for " + slice.memoryBytes()
          + " bytes per GPU; this agent gives a program at most " + maxMemoryBytes);
    }
  }
}
