package io.spillway.agent.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.agent.AgentConfig;
import io.spillway.agent.CudaProgramsAccess;
import io.spillway.agent.SliceSpec;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerAllocateResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.Mount;
import io.spillway.client.SpillwayClient;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.gateway.FailoverConfig;
import io.spillway.pool.gateway.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.gateway.GatewayListener;
import io.spillway.security.Caller;
import io.spillway.testkit.Await;
import io.spillway.webhook.Admission;
import io.spillway.webhook.JsonPatch;
import io.spillway.webhook.PodMutator;
import io.spillway.webhook.WebhookConfig;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A pod's YAML request becomes a slice that an unmodified CUDA program uses: the webhook rewrites the pod
 * spec; a kubelet stand-in allocates the resource the webhook asked for through the device plugin; the
 * container's command then runs here as a process with exactly the environment and mounts (translated to
 * local folders) that the webhook and {@code Allocate} give it, against an edge gateway and a GPU node (host
 * driver, PTX executor). The agent learns the pod from the PodResources stand-in and vouches for its tenant.
 */
class PodEndToEndTest {

  static final long MIB = 1L << 20;
  static final long GIB = 1L << 30;

  /** What the edge saw at each call's start: the vouched-for tenant and the credential. */
  record Seen(String method, String onBehalfOf, String authorization) {
  }

  @Test
  void aPodsYamlRequestBecomesASliceThatAnUnmodifiedProgramUses() throws Exception {
    Path exe = CudaProgramsAccess.build("vector_add");
    ObjectMapper json = new ObjectMapper();
    JsonNode pod;
    try (InputStream in = getClass().getResourceAsStream("/pods/vector-add.yaml")) {
      pod = new ObjectMapper(new YAMLFactory()).readTree(in);
    }

    // 1. Admission: the webhook turns the annotations into the device plugin's resource and the slice.
    ObjectNode review = json.createObjectNode().put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request").put("uid", "e2e-1").put("namespace", "team-a").put("operation", "CREATE");
    request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
    request.set("object", pod);
    Admission admission = new Admission(new PodMutator(WebhookConfig.rewriting(Map.of("V100", GIB))));
    JsonNode response = json.readTree(admission.review(review.toString().getBytes(StandardCharsets.UTF_8))).path("response");
    assertTrue(response.path("allowed").asBoolean(), response.toString());
    JsonNode admitted = JsonPatch.apply(pod, json.readTree(Base64.getDecoder().decode(response.path("patch").asText())));
    JsonNode container = admitted.path("spec").path("containers").get(0);
    int units = Integer.parseInt(container.path("resources").path("limits").path("spillway.io/gpu-memory").asText());
    assertEquals(1, units, "half of a 1 GiB card is one 1 GiB unit");

    List<Seen> seen = new CopyOnWriteArrayList<>();
    ServerInterceptor record = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        seen.add(new Seen(call.getMethodDescriptor().getFullMethodName(), headers.get(Caller.ON_BEHALF_OF),
            headers.get(Caller.AUTHORIZATION)));
        return next.startCall(call, headers);
      }
    };
    Path root = Files.createTempDirectory(Path.of("/tmp"), "e2e");
    GpuNode node = new GpuNode(new NodeOptions("node-1", "edge/test", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 1024 * MIB));
    try (GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
        GatewayCore edge = new GatewayCore(GatewayConfig.local("edge-test", "edge/test"), Clock.systemUTC(),
            GatewayListener.NONE, List.of(record)).failover(FailoverConfig.defaults()).start();
        GatewayRegistrar registrar = new GatewayRegistrar(node, edge.address(), "127.0.0.1:" + server.port(), 200).start()) {
      Await.until("the node registers with the edge", edge::ready);

      // 2. The agent's device plugin, its kubelet, and PodResources.
      Path shim = root.resolve("shim");
      KubeAgent.installShim(CudaProgramsAccess.shim(), shim);
      DevicePluginConfig config = new DevicePluginConfig("spillway.io/gpu-memory", GIB, 4, 1024, root.resolve("dp"),
          root.resolve("pr/kubelet.sock"), root.resolve("alloc"), shim, "/usr/local/spillway/lib", "/run/spillway",
          Duration.ofHours(1), new TenantMap(Map.of("team-a", "acme"), false));
      ManagedChannel channel = NettyChannelBuilder.forTarget(edge.address()).usePlaintext()
          .intercept(new Vouching(java.util.Optional.of("agent-token-1"))).build();
      try (KubeletStandIn kubelet = new KubeletStandIn(config.kubeletDir(), config.podResourcesSocket());
          UnixGrpc grpc = new UnixGrpc();
          PodLookup pods = new PodLookup(grpc, config.podResourcesSocket(), config.resourceName());
          SpillwayClient client = SpillwayClient.forChannel(channel);
          Allocations allocations = new Allocations(config, new AgentConfig(root.resolve("agent.sock"), edge.address(),
              "unused", SliceSpec.EMPTY, 0, 4), TenantSessions.vouching(client), pods, Clock.systemUTC());
          DevicePlugin plugin = DevicePlugin.start(config, () -> OptionalLong.of(GIB), allocations)) {
        kubelet.start();
        Await.until("the plugin registers and lists its devices", () -> kubelet.devices().size() == 4);
        assertEquals(1, kubelet.healthy(), "the pool's 1 GiB makes one healthy unit");

        // 3. Scheduling and container creation: the kubelet allocates what the limit says.
        ContainerAllocateResponse alloc = kubelet.allocate(units).getContainerResponses(0);
        List<String> ids = List.of("gib-0000");
        kubelet.holds("team-a", "vector-add-5f7c9", "cuda", "spillway.io/gpu-memory", ids);

        // 4. The container's process: image env (PATH), then the pod's env, then Allocate's; paths translated.
        Map<String, String> mounts = new LinkedHashMap<>();
        for (Mount m : alloc.getMountsList()) {
          mounts.put(m.getContainerPath(), m.getHostPath());
        }
        mounts.put("/app/vector_add", exe.toString());
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/bin:/bin");
        for (JsonNode e : container.path("env")) {
          env.put(e.path("name").asText(), e.path("value").asText());
        }
        env.putAll(alloc.getEnvsMap());
        env.replaceAll((k, v) -> translate(v, mounts));
        List<String> command = new ArrayList<>();
        for (JsonNode c : container.path("command")) {
          command.add(translate(c.asText(), mounts));
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("PASS vector_add"), out);

        // 5. The session was the pod's: its tenant, vouched for by the agent's credential; pods hold none.
        assertEquals("gpus=1,percent=50,compute=25,model=V100", env.get("SPILLWAY_SLICE"));
        List<Seen> sessions = seen.stream().filter(s -> s.method().contains("GpuSessionService")).toList();
        assertTrue(!sessions.isEmpty(), "the edge saw the program's session: " + seen);
        for (Seen s : sessions) {
          assertEquals("acme", s.onBehalfOf(), "team-a's tenant: " + s);
          assertEquals("Bearer agent-token-1", s.authorization(), s.toString());
        }
        for (String k : env.keySet()) {
          assertTrue(!k.contains("TOKEN") && !k.contains("SECRET"), "no credential in the container: " + k);
        }
        String allocation = alloc.getEnvsOrThrow("SPILLWAY_ALLOCATION");
        Await.until("the program's sessions are released from its allocation", () -> allocations.heldBytes(allocation) == 0);
      }
    } finally {
      try (var walk = Files.walk(root)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  /** A container path under one of the mounts, as this machine sees it. */
  static String translate(String value, Map<String, String> mounts) {
    StringBuilder out = new StringBuilder();
    for (String part : value.split(":", -1)) {
      String t = part;
      for (Map.Entry<String, String> m : mounts.entrySet()) {
        if (part.equals(m.getKey()) || part.startsWith(m.getKey() + "/")) {
          t = m.getValue() + part.substring(m.getKey().length());
          break;
        }
      }
      if (out.length() > 0) {
        out.append(':');
      }
      out.append(t);
    }
    return out.toString();
  }
}
