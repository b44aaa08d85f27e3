package io.spillway.agent.kube;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How the agent's device plugin runs. Paths are as this process sees them, which must be the host's paths:
 * the kubelet mounts {@code shimDir} and the allocation folders into containers by their host path.
 *
 * @param resourceName       the extended resource, e.g. {@code spillway.io/gpu-memory}
 * @param unitBytes          GPU memory per device (unit)
 * @param units              devices advertised; 0 to take the pool's usable memory at the first poll
 * @param maxUnits           the most devices taken from the pool's capacity
 * @param kubeletDir         the kubelet's device-plugin folder ({@code kubelet.sock} and ours)
 * @param podResourcesSocket the kubelet's PodResources socket
 * @param allocDir           where the per-allocation agent sockets live
 * @param shimDir            the folder holding the shim's {@code libcuda.so.1}
 * @param containerShimDir   where containers see {@code shimDir}
 * @param containerSocketDir where containers see their allocation's folder
 * @param poll               how often the pool's capacity is read and finished allocations reaped
 * @param tenants            namespace -> tenant
 */
public record DevicePluginConfig(String resourceName, long unitBytes, int units, int maxUnits, Path kubeletDir,
    Path podResourcesSocket, Path allocDir, Path shimDir, String containerShimDir, String containerSocketDir,
    Duration poll, TenantMap tenants) {

  public static final String KUBELET_SOCKET = "kubelet.sock";
  public static final String AGENT_SOCKET = "agent.sock";

  public DevicePluginConfig {
    if (resourceName == null || !resourceName.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[a-z0-9]([-a-z0-9_.]*[a-z0-9])?")) {
      throw new IllegalArgumentException("device-plugin-resource=" + resourceName
          + " is invalid: expected an extended resource name such as spillway.io/gpu-memory");
    }
    if (unitBytes < 1) {
      throw new IllegalArgumentException("device-plugin-unit=" + unitBytes + " is invalid: expected at least 1 byte");
    }
    if (units < 0 || maxUnits < 1) {
      throw new IllegalArgumentException("device-plugin-units=" + units + ", device-plugin-max-units=" + maxUnits
          + " are invalid: expected units >= 0 (0: from the pool) and max-units >= 1");
    }
    if (poll == null || poll.isNegative() || poll.isZero()) {
      throw new IllegalArgumentException("device-plugin-poll=" + poll + " is invalid: expected a positive duration");
    }
    if (!containerShimDir.startsWith("/") || !containerSocketDir.startsWith("/")) {
      throw new IllegalArgumentException("container paths must be absolute: " + containerShimDir + ", "
          + containerSocketDir);
    }
  }

  /** Our socket's name in {@code kubeletDir}: {@code spillway-gpu-memory.sock} for {@code spillway.io/gpu-memory}. */
  public String endpoint() {
    String name = resourceName.substring(resourceName.indexOf('/') + 1);
    String vendor = resourceName.substring(0, resourceName.indexOf('.') > 0 ? resourceName.indexOf('.') : resourceName.indexOf('/'));
    return vendor + "-" + name + ".sock";
  }

  public Path pluginSocket() {
    return kubeletDir.resolve(endpoint());
  }

  public Path kubeletSocket() {
    return kubeletDir.resolve(KUBELET_SOCKET);
  }

  /** Where a container finds its agent socket. */
  public String containerAgentSocket() {
    return containerSocketDir + "/" + AGENT_SOCKET;
  }
}
