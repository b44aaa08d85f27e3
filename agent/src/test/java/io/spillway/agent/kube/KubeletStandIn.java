package io.spillway.agent.kube;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import io.spillway.agent.kube.deviceplugin.v1beta1.AllocateRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.AllocateResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerAllocateRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerPreferredAllocationRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.Device;
import io.spillway.agent.kube.deviceplugin.v1beta1.DevicePluginGrpc;
import io.spillway.agent.kube.deviceplugin.v1beta1.DevicePluginOptions;
import io.spillway.agent.kube.deviceplugin.v1beta1.Empty;
import io.spillway.agent.kube.deviceplugin.v1beta1.ListAndWatchResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.PreferredAllocationRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.RegisterRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.RegistrationGrpc;
import io.spillway.agent.kube.podresources.v1.ContainerDevices;
import io.spillway.agent.kube.podresources.v1.ContainerResources;
import io.spillway.agent.kube.podresources.v1.ListPodResourcesRequest;
import io.spillway.agent.kube.podresources.v1.ListPodResourcesResponse;
import io.spillway.agent.kube.podresources.v1.PodResources;
import io.spillway.agent.kube.podresources.v1.PodResourcesListerGrpc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A kubelet as a device plugin and PodResources see it, over real Unix sockets and the official protos: it
 * serves {@code v1beta1.Registration} on {@code <dir>/kubelet.sock}; on each registration it dials the plugin's
 * endpoint in the same folder, opens {@code ListAndWatch} and keeps the latest list; it allocates as the
 * device manager does (preferred allocation, then {@code Allocate}). It also serves
 * {@code v1.PodResourcesLister} with the pods a test says hold devices. {@link #restart()} does what a kubelet
 * restart does to the folder: every socket in it is deleted, then {@code kubelet.sock} is created again.
 */
final class KubeletStandIn implements AutoCloseable {

  final Path dir;
  final Path podResourcesSocket;
  final List<RegisterRequest> registrations = new CopyOnWriteArrayList<>();
  final List<List<Device>> lists = new CopyOnWriteArrayList<>();
  final List<PodResources> pods = new CopyOnWriteArrayList<>();
  private final UnixGrpc grpc = new UnixGrpc();
  private final List<ManagedChannel> pluginChannels = new CopyOnWriteArrayList<>();
  private volatile ManagedChannel plugin;
  private Server registration;
  private Server podResources;

  KubeletStandIn(Path dir, Path podResourcesSocket) throws IOException {
    this.dir = dir;
    this.podResourcesSocket = podResourcesSocket;
    Files.createDirectories(dir);
    Files.createDirectories(podResourcesSocket.getParent());
    podResources = grpc.serve(podResourcesSocket, new PodResourcesListerGrpc.PodResourcesListerImplBase() {
      @Override
      public void list(ListPodResourcesRequest request, StreamObserver<ListPodResourcesResponse> out) {
        out.onNext(ListPodResourcesResponse.newBuilder().addAllPodResources(pods).build());
        out.onCompleted();
      }
    });
  }

  void start() throws IOException {
    registration = grpc.serve(dir.resolve("kubelet.sock"), new RegistrationGrpc.RegistrationImplBase() {
      @Override
      public void register(RegisterRequest request, StreamObserver<io.spillway.agent.kube.deviceplugin.v1beta1.Empty> out) {
        registrations.add(request);
        out.onNext(io.spillway.agent.kube.deviceplugin.v1beta1.Empty.getDefaultInstance());
        out.onCompleted();
        // Outside the Register call's context, which is cancelled once it has answered.
        io.grpc.Context.ROOT.run(() -> watch(request.getEndpoint()));
      }
    });
  }

  private void watch(String endpoint) {
    ManagedChannel ch = grpc.channel(dir.resolve(endpoint));
    pluginChannels.add(ch);
    plugin = ch;
    DevicePluginGrpc.newStub(ch).listAndWatch(Empty.getDefaultInstance(), new StreamObserver<>() {
      @Override
      public void onNext(ListAndWatchResponse r) {
        lists.add(r.getDevicesList());
      }

      @Override
      public void onError(Throwable t) {
        System.err.println("kubelet stand-in: ListAndWatch ended: " + t);
      }

      @Override
      public void onCompleted() {
      }
    });
  }

  /** The latest device list, or an empty one before any. */
  List<Device> devices() {
    return lists.isEmpty() ? List.of() : lists.get(lists.size() - 1);
  }

  long healthy() {
    return devices().stream().filter(d -> d.getHealth().equals("Healthy")).count();
  }

  DevicePluginGrpc.DevicePluginBlockingStub stub() {
    return DevicePluginGrpc.newBlockingStub(plugin).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  DevicePluginOptions options() {
    return stub().getDevicePluginOptions(Empty.getDefaultInstance());
  }

  /** Ids this kubelet has allocated (and not freed): the device manager never hands them out twice. */
  final java.util.Set<String> allocated = java.util.concurrent.ConcurrentHashMap.newKeySet();
  volatile List<String> lastAllocated = List.of();

  /** As the device manager: ask the plugin's preference among the free healthy ids, then allocate them. */
  AllocateResponse allocate(int units) {
    List<String> healthy = devices().stream().filter(d -> d.getHealth().equals("Healthy")).map(Device::getID)
        .filter(id -> !allocated.contains(id)).toList();
    List<String> chosen = stub().getPreferredAllocation(PreferredAllocationRequest.newBuilder()
        .addContainerRequests(ContainerPreferredAllocationRequest.newBuilder().addAllAvailableDeviceIDs(healthy)
            .setAllocationSize(units)).build()).getContainerResponses(0).getDeviceIDsList();
    AllocateResponse r = stub().allocate(AllocateRequest.newBuilder()
        .addContainerRequests(ContainerAllocateRequest.newBuilder().addAllDevicesIds(chosen)).build());
    allocated.addAll(chosen);
    lastAllocated = chosen;
    return r;
  }

  /** Records that {@code namespace/pod}'s {@code container} holds {@code ids} of {@code resource}. */
  void holds(String namespace, String pod, String container, String resource, List<String> ids) {
    pods.add(PodResources.newBuilder().setNamespace(namespace).setName(pod).addContainers(ContainerResources.newBuilder()
        .setName(container).addDevices(ContainerDevices.newBuilder().setResourceName(resource).addAllDeviceIds(ids))).build());
  }

  /** Stops serving registration and deletes every socket in the folder, as a stopping kubelet does. */
  void stop() throws IOException {
    if (registration != null) {
      registration.shutdownNow();
      try {
        registration.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      registration = null;
    }
    for (ManagedChannel ch : pluginChannels) {
      ch.shutdownNow();
    }
    pluginChannels.clear();
    try (var files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  void restart() throws IOException {
    stop();
    start();
  }

  @Override
  public void close() throws IOException {
    stop();
    podResources.shutdownNow();
    grpc.close();
  }
}
