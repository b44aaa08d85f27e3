package io.spillway.agent.kube;

import io.spillway.agent.AgentConfig;
import io.spillway.agent.AgentServer;
import io.spillway.agent.Gpu;
import io.spillway.agent.SessionOpener;
import io.spillway.agent.SliceSpec;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerAllocateResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.Mount;
import io.spillway.client.DeviceInfo;
import io.spillway.client.SliceRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * One agent socket per allocation. {@code Allocate} creates {@code <allocDir>/<allocation>/agent.sock}, served
 * by an agent of its own, and mounts that folder into the container; since no other container sees that
 * socket, every connection on it belongs to the allocation's devices. At each context the agent asks the
 * kubelet's PodResources which pod holds those devices, maps its namespace to a tenant, and opens the session
 * for that tenant with the agent's credential. All the sessions on one allocation together hold at most its
 * memory ({@code units x unit}).
 *
 * <p>An allocation ends ({@link #reap()}) once no pod holds its devices, none of its connections is open,
 * and it is older than {@link #GRACE} (the kubelet calls {@code Allocate} before the container exists, so a
 * fresh allocation is not in PodResources yet).
 */
public final class Allocations implements Allocator, AutoCloseable {

  private static final Logger LOG = Logger.getLogger(Allocations.class.getName());
  static final Duration GRACE = Duration.ofMinutes(5);

  private final DevicePluginConfig config;
  private final AgentConfig base;
  private final TenantSessions sessions;
  private final PodLookup pods;
  private final Clock clock;
  private final Map<String, Allocation> live = new ConcurrentHashMap<>();

  /** One container's devices, its socket and the memory its sessions hold. */
  final class Allocation {
    final String id;
    final List<String> deviceIds;
    final long limitBytes;
    final Path dir;
    final Instant created;
    final AgentServer server;
    private long heldBytes;

    Allocation(String id, List<String> deviceIds, Path dir) throws IOException {
      this.id = id;
      this.deviceIds = List.copyOf(deviceIds);
      this.limitBytes = deviceIds.size() * config.unitBytes();
      this.dir = dir;
      this.created = clock.instant();
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path socket = dir.resolve(DevicePluginConfig.AGENT_SOCKET);
      AgentConfig own = new AgentConfig(socket, base.gateway(), base.tenant(),
          SliceSpec.parse("memory=" + limitBytes).orElse(base.defaults()), limitBytes, base.maxGpus());
      this.server = AgentServer.startShared(own, opener(), new ContainerProcesses(socket, config.containerAgentSocket()));
    }

    private SessionOpener opener() {
      return request -> {
        PodLookup.PodRef pod;
        try {
          pod = pods.holder(deviceIds).orElseThrow(() -> new IllegalArgumentException("no pod on this node holds "
              + config.resourceName() + " " + deviceIds + " (allocation " + id + ") per the kubelet's PodResources"));
        } catch (IllegalStateException e) {
          throw new IllegalArgumentException(e.getMessage(), e);
        }
        String tenant = config.tenants().tenantFor(pod.namespace());
        Gpu gpu = sessions.open(tenant, request);
        long bytes = 0;
        for (DeviceInfo d : gpu.devices()) {
          bytes += d.memoryLimitBytes();
        }
        if (!reserve(bytes)) {
          long held = held();
          gpu.close();
          throw new IllegalArgumentException("a slice of " + bytes + " bytes would bring " + pod.namespace() + "/"
              + pod.pod() + " container " + pod.container() + " to " + (held + bytes) + " bytes, above its "
              + limitBytes + " (" + config.resourceName() + ": " + deviceIds.size() + ")");
        }
        LOG.info("allocation " + id + ": session " + gpu.sessionId() + " for " + pod.namespace() + "/" + pod.pod()
            + " (" + pod.container() + ") as tenant " + tenant + ", " + bytes + " of " + limitBytes + " bytes");
        final long counted = bytes;
        return new CountedGpu(gpu, () -> release(counted));
      };
    }

    synchronized boolean reserve(long bytes) {
      if (heldBytes + bytes > limitBytes) {
        return false;
      }
      heldBytes += bytes;
      return true;
    }

    synchronized void release(long bytes) {
      heldBytes -= bytes;
    }

    synchronized long held() {
      return heldBytes;
    }

    void close() {
      server.close();
      try {
        Files.deleteIfExists(dir.resolve(DevicePluginConfig.AGENT_SOCKET));
        Files.deleteIfExists(dir);
      } catch (IOException e) {
        LOG.fine("removing " + dir + ": " + e.getMessage());
      }
    }
  }

  public Allocations(DevicePluginConfig config, AgentConfig base, TenantSessions sessions, PodLookup pods,
      Clock clock) throws IOException {
    this.config = config;
    this.base = base;
    this.sessions = sessions;
    this.pods = pods;
    this.clock = clock;
    Files.createDirectories(config.allocDir());
    // Only the agent may enter the parent: a container reaches its own allocation's folder through its mount,
    // and no process on the host can reach any allocation's socket (which admit any user) by its path.
    Files.setPosixFilePermissions(config.allocDir(), PosixFilePermissions.fromString("rwx------"));
  }

  /** The allocation's name: a digest of its sorted ids, so a re-admission finds the same one. */
  static String name(List<String> deviceIds) {
    List<String> sorted = new ArrayList<>(deviceIds);
    Collections.sort(sorted);
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(String.join(",", sorted).getBytes(StandardCharsets.UTF_8));
      return "a-" + HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public ContainerAllocateResponse allocate(List<String> deviceIds) throws IOException {
    String id = name(deviceIds);
    Allocation a = live.get(id);
    if (a == null) {
      synchronized (this) {
        a = live.get(id);
        if (a == null) {
          a = new Allocation(id, deviceIds, config.allocDir().resolve(id));
          live.put(id, a);
          LOG.info("allocation " + id + ": " + deviceIds + " (" + a.limitBytes + " bytes) on " + a.server.socket());
        }
      }
    }
    return ContainerAllocateResponse.newBuilder()
        .addMounts(Mount.newBuilder().setContainerPath(config.containerShimDir())
            .setHostPath(config.shimDir().toString()).setReadOnly(true))
        .addMounts(Mount.newBuilder().setContainerPath(config.containerSocketDir())
            .setHostPath(a.dir.toString()).setReadOnly(false))
        .putEnvs("LD_LIBRARY_PATH", config.containerShimDir())
        .putEnvs("SPILLWAY_AGENT_SOCKET", config.containerAgentSocket())
        .putEnvs("SPILLWAY_ALLOCATION", id)
        .putEnvs("SPILLWAY_SLICE_LIMIT_BYTES", String.valueOf(a.limitBytes))
        .build();
  }

  /** The live allocations' names. */
  public Set<String> live() {
    return Set.copyOf(live.keySet());
  }

  /** Bytes the sessions of allocation {@code id} hold now. */
  public long heldBytes(String id) {
    Allocation a = live.get(id);
    return a == null ? 0 : a.held();
  }

  @Override
  public void reap() {
    if (live.isEmpty()) {
      return;
    }
    Set<String> held;
    try {
      held = pods.held();
    } catch (IllegalStateException e) {
      LOG.warning("not reaping allocations: " + e.getMessage());
      return;
    }
    Instant before = clock.instant().minus(GRACE);
    for (Allocation a : live.values()) {
      boolean inUse = a.deviceIds.stream().anyMatch(held::contains);
      if (!inUse && a.server.connections() == 0 && a.created.isBefore(before)) {
        live.remove(a.id);
        a.close();
        LOG.info("allocation " + a.id + " ended: no pod holds " + a.deviceIds);
      }
    }
  }

  @Override
  public void close() {
    for (Allocation a : live.values()) {
      a.close();
    }
    live.clear();
  }
}
