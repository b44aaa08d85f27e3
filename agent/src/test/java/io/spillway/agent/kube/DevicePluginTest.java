package io.spillway.agent.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.spillway.agent.AgentConfig;
import io.spillway.agent.SliceSpec;
import io.spillway.agent.kube.deviceplugin.v1beta1.AllocateRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.AllocateResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerAllocateRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerAllocateResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerPreferredAllocationRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.Mount;
import io.spillway.agent.kube.deviceplugin.v1beta1.PreferredAllocationRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.RegisterRequest;
import io.spillway.testkit.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The device plugin driven by a kubelet stand-in over real Unix sockets and the official v1beta1 proto. */
class DevicePluginTest {

  static final long GIB = 1L << 30;

  @TempDir
  Path tmp;
  KubeletStandIn kubelet;
  DevicePlugin plugin;
  Allocations allocations;
  UnixGrpc grpc;
  PodLookup pods;
  final AtomicLong capacity = new AtomicLong(8 * GIB);
  DevicePluginConfig config;

  @BeforeEach
  void start() throws Exception {
    // Unix socket paths are limited to 107 bytes: keep the folder short.
    Path root = Files.createTempDirectory(Path.of("/tmp"), "dp");
    tmp = root;
    Path shim = Files.createDirectories(root.resolve("shim"));
    Files.writeString(shim.resolve("libcuda.so.1"), "not a real library");
    config = new DevicePluginConfig("spillway.io/gpu-memory", GIB, 8, 1024, root.resolve("dp"),
        root.resolve("pr/kubelet.sock"), root.resolve("alloc"), shim, "/usr/local/spillway/lib", "/run/spillway",
        Duration.ofHours(1), new TenantMap(Map.of(), true));
    kubelet = new KubeletStandIn(config.kubeletDir(), config.podResourcesSocket());
    kubelet.start();
    grpc = new UnixGrpc();
    pods = new PodLookup(grpc, config.podResourcesSocket(), config.resourceName());
    AgentConfig base = new AgentConfig(root.resolve("unused.sock"), "127.0.0.1:1", "unused", SliceSpec.EMPTY, 0, 4);
    allocations = new Allocations(config, base, (tenant, request) -> {
      throw new IllegalArgumentException("no edge in this test");
    }, pods, Clock.systemUTC());
    plugin = DevicePlugin.start(config, () -> OptionalLong.of(capacity.get()), allocations);
  }

  @AfterEach
  void stop() throws Exception {
    plugin.close();
    allocations.close();
    pods.close();
    grpc.close();
    kubelet.close();
    try (var walk = Files.walk(tmp)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void registersAndListsOneDevicePerGibOfThePool() {
    Await.until("the plugin registers", () -> kubelet.registrations.size() == 1);
    RegisterRequest r = kubelet.registrations.get(0);
    assertEquals("v1beta1", r.getVersion());
    assertEquals("spillway-gpu-memory.sock", r.getEndpoint());
    assertEquals("spillway.io/gpu-memory", r.getResourceName());
    assertTrue(r.getOptions().getGetPreferredAllocationAvailable());
    assertFalse(r.getOptions().getPreStartRequired());
    assertEquals(DevicePlugin.State.REGISTERED, plugin.state());
    Await.until("ListAndWatch lists the devices", () -> kubelet.devices().size() == 8);
    assertEquals(8, kubelet.healthy());
    assertEquals("gib-0000", kubelet.devices().get(0).getID());
    assertTrue(kubelet.options().getGetPreferredAllocationAvailable());
  }

  @Test
  void healthFollowsThePoolsCapacity() {
    Await.until("ListAndWatch lists the devices", () -> kubelet.healthy() == 8);
    capacity.set(5 * GIB + GIB / 2);
    plugin.pollNow();
    Await.until("units beyond the capacity turn unhealthy", () -> kubelet.healthy() == 5);
    assertEquals(8, kubelet.devices().size(), "the count stays fixed");
    assertEquals("Unhealthy", kubelet.devices().get(7).getHealth());
    assertEquals("Healthy", kubelet.devices().get(4).getHealth());
    capacity.set(100 * GIB);
    plugin.pollNow();
    Await.until("capacity back: all healthy", () -> kubelet.healthy() == 8);
  }

  @Test
  void preferredAllocationKeepsMustIncludeAndPacksLow() {
    Await.until("ListAndWatch", () -> kubelet.devices().size() == 8);
    List<String> got = kubelet.stub().getPreferredAllocation(PreferredAllocationRequest.newBuilder()
        .addContainerRequests(ContainerPreferredAllocationRequest.newBuilder()
            .addAllAvailableDeviceIDs(List.of("gib-0007", "gib-0003", "gib-0001", "gib-0005"))
            .addMustIncludeDeviceIDs("gib-0005").setAllocationSize(3)).build())
        .getContainerResponses(0).getDeviceIDsList();
    assertEquals(List.of("gib-0005", "gib-0001", "gib-0003"), got);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> kubelet.stub().getPreferredAllocation(
        PreferredAllocationRequest.newBuilder().addContainerRequests(ContainerPreferredAllocationRequest.newBuilder()
            .addAvailableDeviceIDs("gpu-0").setAllocationSize(1)).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("available_deviceIDs: gpu-0"), e.getStatus().getDescription());
  }

  @Test
  void allocateGivesTheShimItsFolderItsSocketAndItsEnvironmentOnly() throws Exception {
    Await.until("ListAndWatch", () -> kubelet.devices().size() == 8);
    AllocateResponse r = kubelet.allocate(3);
    ContainerAllocateResponse c = r.getContainerResponses(0);
    String id = c.getEnvsOrThrow("SPILLWAY_ALLOCATION");
    assertEquals(Map.of("LD_LIBRARY_PATH", "/usr/local/spillway/lib", "SPILLWAY_AGENT_SOCKET", "/run/spillway/agent.sock",
        "SPILLWAY_ALLOCATION", id, "SPILLWAY_SLICE_LIMIT_BYTES", String.valueOf(3 * GIB)), c.getEnvsMap());
    assertEquals(Allocations.name(List.of("gib-0000", "gib-0001", "gib-0002")), id);
    Mount shim = c.getMounts(0);
    assertEquals("/usr/local/spillway/lib", shim.getContainerPath());
    assertEquals(config.shimDir().toString(), shim.getHostPath());
    assertTrue(shim.getReadOnly());
    Mount sock = c.getMounts(1);
    assertEquals("/run/spillway", sock.getContainerPath());
    assertEquals(config.allocDir().resolve(id).toString(), sock.getHostPath());
    assertTrue(Files.exists(Path.of(sock.getHostPath(), "agent.sock")), "the allocation's agent serves its socket");
    assertEquals(2, c.getMountsCount());
    assertEquals(0, c.getDevicesCount());
    assertEquals(0, c.getAnnotationsCount());
    assertEquals(0, c.getCdiDevicesCount());
    assertEquals(c, kubelet.stub().allocate(AllocateRequest.newBuilder().addContainerRequests(ContainerAllocateRequest
        .newBuilder().addAllDevicesIds(kubelet.lastAllocated)).build()).getContainerResponses(0),
        "a re-admission of the same ids gets the same answer");
    assertEquals(List.of("gib-0003", "gib-0004"), kubelet.allocate(2).getContainerResponses(0).getMountsList().isEmpty()
        ? List.of() : kubelet.lastAllocated, "the next container gets the next free ids");

    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> kubelet.stub().allocate(AllocateRequest
        .newBuilder().addContainerRequests(ContainerAllocateRequest.newBuilder().addDevicesIds("gib-0009")).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("container_requests[0].devices_ids: gib-0009"),
        e.getStatus().getDescription());
  }

  @Test
  void reRegistersWhenTheKubeletRestarts() throws Exception {
    Await.until("the plugin registers", () -> kubelet.registrations.size() == 1);
    Await.until("ListAndWatch", () -> kubelet.devices().size() == 8);
    kubelet.stop();
    Await.until("the plugin notices its socket is gone", () -> plugin.state() == DevicePlugin.State.UNREGISTERED);
    kubelet.lists.clear();
    capacity.set(6 * GIB);
    plugin.pollNow();
    kubelet.start();
    Await.until("the plugin registers with the new kubelet", () -> plugin.state() == DevicePlugin.State.REGISTERED
        && kubelet.registrations.size() >= 2);
    Await.until("the new kubelet's ListAndWatch lists the devices with today's health", () -> kubelet.healthy() == 6);
    assertEquals("spillway-gpu-memory.sock", kubelet.registrations.get(kubelet.registrations.size() - 1).getEndpoint());
    assertTrue(Files.exists(config.pluginSocket()));
    AllocateResponse r = kubelet.allocate(1);
    assertEquals(1, r.getContainerResponsesCount());
  }

  @Test
  void podResourcesNamesThePodHoldingAllocatedDevices() {
    kubelet.holds("team-a", "infer-0", "model", "spillway.io/gpu-memory", List.of("gib-0002", "gib-0003"));
    kubelet.holds("team-b", "other", "main", "example.com/other", List.of("gib-0004"));
    assertEquals(new PodLookup.PodRef("team-a", "infer-0", "model"), pods.holder(List.of("gib-0003")).orElseThrow());
    assertTrue(pods.holder(List.of("gib-0004")).isEmpty(), "another resource's ids are not ours");
    assertEquals(java.util.Set.of("gib-0002", "gib-0003"), pods.held());
  }
}
