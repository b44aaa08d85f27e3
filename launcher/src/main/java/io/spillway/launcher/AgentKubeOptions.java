package io.spillway.launcher;

import io.spillway.agent.AgentConfig;
import io.spillway.agent.SliceSpec;
import io.spillway.agent.kube.DevicePluginConfig;
import io.spillway.agent.kube.EdgePoolCapacity;
import io.spillway.agent.kube.KubeAgent;
import io.spillway.agent.kube.TenantMap;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** {@code spillway agent --device-plugin ...}: the kubelet device plugin on a Kubernetes worker. */
final class AgentKubeOptions {

  @Option(names = "--device-plugin", description = "Serve the kubelet device plugin for the pool's GPU memory on a Kubernetes worker ([kubernetes-integration-notes.md](kubernetes-integration-notes.md)).")
  boolean enabled;

  @Option(names = "--edge-http", paramLabel = "<url>", description = "The edge gateway's HTTP base, read for the pool's capacity (default: http://<gateway host>:8081).")
  String edgeHttp;

  @Option(names = "--device-plugin-resource", paramLabel = "<name>", defaultValue = "spillway.io/gpu-memory", description = "Extended resource to advertise (default: ${DEFAULT-VALUE}).")
  String resource;

  @Option(names = "--device-plugin-unit", paramLabel = "<size>", defaultValue = "1GiB", description = "GPU memory per advertised device (default: ${DEFAULT-VALUE}).")
  String unit;

  @Option(names = "--device-plugin-units", paramLabel = "<count>", defaultValue = "0", description = "Devices to advertise; 0 for the pool's usable memory at start (default: ${DEFAULT-VALUE}).")
  int units;

  @Option(names = "--device-plugin-max-units", paramLabel = "<count>", defaultValue = "1024", description = "The most devices taken from the pool's capacity (default: ${DEFAULT-VALUE}).")
  int maxUnits;

  @Option(names = "--device-plugin-poll", paramLabel = "<seconds>", defaultValue = "10", description = "Seconds between reads of the pool's capacity (default: ${DEFAULT-VALUE}).")
  int pollSeconds;

  @Option(names = "--kubelet-dir", paramLabel = "<path>", defaultValue = "/var/lib/kubelet/device-plugins", description = "The kubelet's device-plugin folder (default: ${DEFAULT-VALUE}).")
  Path kubeletDir;

  @Option(names = "--pod-resources-socket", paramLabel = "<path>", defaultValue = "/var/lib/kubelet/pod-resources/kubelet.sock", description = "The kubelet's PodResources socket (default: ${DEFAULT-VALUE}).")
  Path podResources;

  @Option(names = "--alloc-dir", paramLabel = "<path>", defaultValue = "/var/lib/spillway/alloc", description = "Host folder of the per-allocation agent sockets (default: ${DEFAULT-VALUE}).")
  Path allocDir;

  @Option(names = "--shim-dir", paramLabel = "<path>", defaultValue = "/var/lib/spillway/shim", description = "Host folder the kubelet mounts the shim from (default: ${DEFAULT-VALUE}).")
  Path shimDir;

  @Option(names = "--shim-source", paramLabel = "<path>", description = "Folder holding the shim's libcuda.so.1 to copy into --shim-dir at start.")
  Path shimSource;

  @Option(names = "--tenant-map", paramLabel = "<namespace=tenant>", description = "The tenant of a namespace's pods, e.g. team-a=acme.")
  String[] tenantMap;

  @Option(names = "--tenant-from-namespace", paramLabel = "true|false", defaultValue = "true", arity = "1", description = "An unmapped namespace is its own tenant; false refuses its pods (default: ${DEFAULT-VALUE}).")
  boolean tenantFromNamespace;

  /**
   * The device plugin for {@code base}, or null when not enabled. {@code tokens} is the agent's own token
   * (--token-file); it vouches for each pod's tenant, so it must list them all.
   */
  KubeAgent start(AgentConfig base, java.util.function.Supplier<String> tokens) throws IOException {
    if (!enabled) {
      return null;
    }
    Map<String, String> map = new LinkedHashMap<>();
    if (tenantMap != null) {
      for (String e : tenantMap) {
        Map.Entry<String, String> kv = TenantMap.entry(e);
        map.put(kv.getKey(), kv.getValue());
      }
    }
    DevicePluginConfig config = new DevicePluginConfig(resource, SliceSpec.bytes("--device-plugin-unit", unit), units,
        maxUnits, kubeletDir, podResources, allocDir, shimDir, "/usr/local/spillway/lib", "/run/spillway",
        Duration.ofSeconds(pollSeconds), new TenantMap(map, tenantFromNamespace));
    String http = edgeHttp;
    if (http == null) {
      String host = base.gateway().contains(":") ? base.gateway().substring(0, base.gateway().lastIndexOf(':')) : base.gateway();
      http = "http://" + host + ":8081";
    }
    return KubeAgent.start(config, base, new EdgePoolCapacity(URI.create(http)), tokens, shimSource);
  }
}
