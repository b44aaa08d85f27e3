package io.spillway.agent.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
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
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import io.spillway.security.Caller;
import io.spillway.security.TenantPrincipal;
import io.spillway.security.token.CredentialInterceptor;
import io.spillway.security.token.KeyFiles;
import io.spillway.security.token.TokenIssuer;
import io.spillway.security.token.TokenVerifier;
import io.spillway.security.token.VerificationKeys;
import io.spillway.testkit.Await;
import io.spillway.webhook.Admission;
import io.spillway.webhook.JsonPatch;
import io.spillway.webhook.PodMutator;
import io.spillway.webhook.WebhookConfig;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A pod's YAML request becomes a slice that an unmodified CUDA program uses: the webhook rewrites the pod
 * spec; a kubelet stand-in allocates the resource the webhook asked for through the device plugin; the
 * container's command then runs here as a process with exactly the environment and mounts (translated to
 * local folders) that the webhook and {@code Allocate} give it, against an edge gateway and a GPU node (host
 * driver, PTX executor). The agent learns the pod from the PodResources stand-in and vouches for its tenant
 * with its own signed token, which the edge verifies.
 */
class PodEndToEndTest {

  static final long MIB = 1L << 20;
  static final long GIB = 1L << 30;
  static final ObjectMapper JSON = new ObjectMapper();

  /** What the edge proved at each session's start. */
  record Seen(String tenant, String vouchedBy, boolean hadOwnCredential) {
  }

  static final List<Seen> seen = new CopyOnWriteArrayList<>();
  static Path root;
  static Path exe;
  static GpuNodeServer server;
  static GatewayCore edge;
  static GatewayRegistrar registrar;
  static KubeletStandIn kubelet;
  static UnixGrpc grpc;
  static PodLookup pods;
  static ManagedChannel channel;
  static SpillwayClient client;
  static Allocations allocations;
  static DevicePlugin plugin;

  @BeforeAll
  static void cluster() throws Exception {
    exe = CudaProgramsAccess.build("vector_add");
    root = Files.createTempDirectory(Path.of("/tmp"), "e2e");
    KeyPair key = KeyFiles.generate();
    KeyFiles.write(key, root);
    TokenVerifier verifier = new TokenVerifier(VerificationKeys.fromFile(root.resolve("jwks.json")), "spillway",
        "spillway", Duration.ofSeconds(5), Clock.systemUTC());
    String agentToken = new TokenIssuer(key, "spillway", "spillway", Clock.systemUTC())
        .issue(TokenIssuer.Claims.agent("worker-1", List.of("acme"), Duration.ofHours(1)));
    ServerInterceptor record = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (call.getMethodDescriptor().getFullMethodName().contains("GpuSessionService")) {
          TenantPrincipal t = Caller.TENANT.get();
          seen.add(new Seen(t == null ? null : t.tenant(), t == null ? null : t.vouchedBy().map(p -> p.name()).orElse(null),
              headers.get(Caller.AUTHORIZATION) != null));
        }
        return next.startCall(call, headers);
      }
    };
    GpuNode node = new GpuNode(new NodeOptions("node-1", "edge/test", 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(1, "V100", 1024 * MIB));
    server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    // The credential interceptor first: the recorder sees the tenant it proved.
    edge = new GatewayCore(GatewayConfig.local("edge-test", "edge/test"), Clock.systemUTC(), GatewayListener.NONE,
        List.of(new CredentialInterceptor(verifier), record)).failover(FailoverConfig.defaults()).start();
    registrar = new GatewayRegistrar(node, edge.address(), "127.0.0.1:" + server.port(), 200).start();
    Await.until("the node registers with the edge", edge::ready);

    Path shim = root.resolve("shim");
    KubeAgent.installShim(CudaProgramsAccess.shim(), shim);
    DevicePluginConfig config = new DevicePluginConfig("spillway.io/gpu-memory", GIB, 4, 1024, root.resolve("dp"),
        root.resolve("pr/kubelet.sock"), root.resolve("alloc"), shim, "/usr/local/spillway/lib", "/run/spillway",
        Duration.ofHours(1), new TenantMap(Map.of("team-a", "acme", "team-b", "beta"), false));
    kubelet = new KubeletStandIn(config.kubeletDir(), config.podResourcesSocket());
    grpc = new UnixGrpc();
    pods = new PodLookup(grpc, config.podResourcesSocket(), config.resourceName());
    channel = NettyChannelBuilder.forTarget(edge.address()).usePlaintext().intercept(new Vouching(() -> agentToken)).build();
    client = SpillwayClient.forChannel(channel);
    allocations = new Allocations(config, new AgentConfig(root.resolve("agent.sock"), edge.address(), "unused",
        SliceSpec.EMPTY, 0, 4), TenantSessions.vouching(client), pods, Clock.systemUTC());
    plugin = DevicePlugin.start(config, () -> OptionalLong.of(4 * GIB), allocations);
    kubelet.start();
    Await.until("the plugin registers and lists its devices", () -> kubelet.healthy() == 4);
  }

  @AfterAll
  static void down() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {plugin, allocations, client, channel::shutdownNow, pods, grpc, kubelet,
        registrar, edge, server}) {
      if (c != null) {
        c.close();
      }
    }
    if (root != null) {
      try (var walk = Files.walk(root)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  @BeforeEach
  void clear() {
    seen.clear();
  }

  /** A pod through admission, scheduling and container start; its container's command run here. */
  record Run(JsonNode container, ContainerAllocateResponse allocation, Map<String, String> env, int exit, String output) {
  }

  static Run runPod(String namespace, Map<String, String> extraEnv) throws Exception {
    JsonNode pod;
    try (InputStream in = PodEndToEndTest.class.getResourceAsStream("/pods/vector-add.yaml")) {
      pod = new ObjectMapper(new YAMLFactory()).readTree(in);
    }
    ((ObjectNode) pod.path("metadata")).put("namespace", namespace);
    // 1. Admission: the webhook turns the annotations into the device plugin's resource and the slice.
    ObjectNode review = JSON.createObjectNode().put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request").put("uid", "e2e-1").put("namespace", namespace).put("operation", "CREATE");
    request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
    request.set("object", pod);
    Admission admission = new Admission(new PodMutator(WebhookConfig.rewriting(Map.of("V100", GIB))));
    JsonNode response = JSON.readTree(admission.review(review.toString().getBytes(StandardCharsets.UTF_8))).path("response");
    assertTrue(response.path("allowed").asBoolean(), response.toString());
    JsonNode admitted = JsonPatch.apply(pod, JSON.readTree(Base64.getDecoder().decode(response.path("patch").asText())));
    JsonNode container = admitted.path("spec").path("containers").get(0);
    int units = Integer.parseInt(container.path("resources").path("limits").path("spillway.io/gpu-memory").asText());

    // 2. Scheduling and container creation: the kubelet allocates what the limit says and records the pod.
    ContainerAllocateResponse alloc = kubelet.allocate(units).getContainerResponses(0);
    kubelet.holds(namespace, admitted.path("metadata").path("name").asText(), container.path("name").asText(),
        "spillway.io/gpu-memory", kubelet.lastAllocated);

    // 3. The container's process: image env (PATH), then the pod's env, then Allocate's; paths translated.
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
    env.putAll(extraEnv);
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
    String id = alloc.getEnvsOrThrow("SPILLWAY_ALLOCATION");
    Await.until("the program's sessions are released from its allocation", () -> allocations.heldBytes(id) == 0);
    return new Run(container, alloc, env, p.exitValue(), out);
  }

  @Test
  void aPodsYamlRequestBecomesASliceThatAnUnmodifiedProgramUses() throws Exception {
    Run r = runPod("team-a", Map.of());
    assertEquals("1", r.container().path("resources").path("limits").path("spillway.io/gpu-memory").asText(),
        "half of a 1 GiB card is one 1 GiB unit");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("PASS vector_add"), r.output());
    assertEquals("gpus=1,percent=50,compute=25,model=V100", r.env().get("SPILLWAY_SLICE"));
    assertTrue(!seen.isEmpty(), "the edge saw the program's session");
    for (Seen s : seen) {
      assertEquals(new Seen("acme", "agent:worker-1", true), s, "team-a's tenant, proven by the agent's token");
    }
    for (String k : r.env().keySet()) {
      assertTrue(!k.contains("TOKEN") && !k.contains("SECRET") && !k.contains("KEY"), "no credential in the container: " + k);
    }
    for (String v : r.env().values()) {
      assertTrue(!v.startsWith("ey"), "no token in the container's environment: " + v);
    }
  }

  @Test
  void aNamespaceTheAgentMayNotVouchForGetsNoSession() throws Exception {
    // team-b maps to tenant beta, which the agent's token does not list: the edge refuses.
    Run r = runPod("team-b", Map.of());
    assertNotEquals(0, r.exit(), r.output());
    assertTrue(!r.output().contains("PASS vector_add"), r.output());
    assertTrue(seen.stream().noneMatch(s -> "beta".equals(s.tenant())), "no session opened as beta: " + seen);
  }

  @Test
  void aNamespaceWithoutATenantGetsNoSession() throws Exception {
    Run r = runPod("team-x", Map.of());
    assertNotEquals(0, r.exit(), r.output());
    assertTrue(seen.isEmpty(), "the agent opened nothing for an unmapped namespace: " + seen);
  }

  @Test
  void aSliceAboveTheAllocationIsRefused() throws Exception {
    // The pod's own environment asks for more than the one unit the kubelet allocated.
    Run r = runPod("team-a", Map.of("SPILLWAY_SLICE", "gpus=1,memory=2GiB"));
    assertNotEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("at most " + GIB) || r.output().contains("1073741824"), r.output());
    assertTrue(seen.isEmpty(), "nothing reached the edge: " + seen);
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
