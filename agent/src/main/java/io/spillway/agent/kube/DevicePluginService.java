package io.spillway.agent.kube;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.spillway.agent.kube.deviceplugin.v1beta1.AllocateRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.AllocateResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerAllocateRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerPreferredAllocationRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerPreferredAllocationResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.DevicePluginGrpc;
import io.spillway.agent.kube.deviceplugin.v1beta1.DevicePluginOptions;
import io.spillway.agent.kube.deviceplugin.v1beta1.Empty;
import io.spillway.agent.kube.deviceplugin.v1beta1.ListAndWatchResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.PreStartContainerRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.PreStartContainerResponse;
import io.spillway.agent.kube.deviceplugin.v1beta1.PreferredAllocationRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.PreferredAllocationResponse;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.logging.Logger;

/**
 * The kubelet-facing {@code v1beta1.DevicePlugin} service. Each {@code ListAndWatch} stream gets the full
 * device list at once and again whenever health changes ({@link #healthChanged()}); sends to one stream are
 * serialized on that stream's observer.
 */
final class DevicePluginService extends DevicePluginGrpc.DevicePluginImplBase {

  private static final Logger LOG = Logger.getLogger(DevicePluginService.class.getName());

  private final MemoryUnits units;
  private final Allocator allocator;
  private final Set<ServerCallStreamObserver<ListAndWatchResponse>> watchers = new CopyOnWriteArraySet<>();

  DevicePluginService(MemoryUnits units, Allocator allocator) {
    this.units = units;
    this.allocator = allocator;
  }

  static DevicePluginOptions options() {
    return DevicePluginOptions.newBuilder().setPreStartRequired(false).setGetPreferredAllocationAvailable(true).build();
  }

  @Override
  public void getDevicePluginOptions(Empty request, StreamObserver<DevicePluginOptions> out) {
    out.onNext(options());
    out.onCompleted();
  }

  @Override
  public void listAndWatch(Empty request, StreamObserver<ListAndWatchResponse> out) {
    ServerCallStreamObserver<ListAndWatchResponse> w = (ServerCallStreamObserver<ListAndWatchResponse>) out;
    w.setOnCancelHandler(() -> watchers.remove(w));
    watchers.add(w);
    send(w);
  }

  /** Sends the devices to every watcher. */
  void healthChanged() {
    for (ServerCallStreamObserver<ListAndWatchResponse> w : watchers) {
      send(w);
    }
  }

  int watchers() {
    return watchers.size();
  }

  /** Ends the streams (the server is going away). */
  void endStreams() {
    for (ServerCallStreamObserver<ListAndWatchResponse> w : watchers) {
      watchers.remove(w);
      synchronized (w) {
        try {
          w.onCompleted();
        } catch (RuntimeException e) {
          LOG.fine("ending a ListAndWatch stream: " + e.getMessage());
        }
      }
    }
  }

  private void send(ServerCallStreamObserver<ListAndWatchResponse> w) {
    ListAndWatchResponse r = ListAndWatchResponse.newBuilder().addAllDevices(units.devices()).build();
    synchronized (w) {
      if (w.isCancelled()) {
        watchers.remove(w);
        return;
      }
      try {
        w.onNext(r);
      } catch (RuntimeException e) {
        watchers.remove(w);
        LOG.fine("ListAndWatch stream ended: " + e.getMessage());
      }
    }
  }

  @Override
  public void getPreferredAllocation(PreferredAllocationRequest request, StreamObserver<PreferredAllocationResponse> out) {
    PreferredAllocationResponse.Builder r = PreferredAllocationResponse.newBuilder();
    try {
      int i = 0;
      for (ContainerPreferredAllocationRequest c : request.getContainerRequestsList()) {
        try {
          r.addContainerResponses(ContainerPreferredAllocationResponse.newBuilder().addAllDeviceIDs(
              units.preferred(c.getAvailableDeviceIDsList(), c.getMustIncludeDeviceIDsList(), c.getAllocationSize())));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("container_requests[" + i + "]." + e.getMessage(), e);
        }
        i++;
      }
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    out.onNext(r.build());
    out.onCompleted();
  }

  @Override
  public void allocate(AllocateRequest request, StreamObserver<AllocateResponse> out) {
    AllocateResponse.Builder r = AllocateResponse.newBuilder();
    int i = 0;
    for (ContainerAllocateRequest c : request.getContainerRequestsList()) {
      List<String> ids = c.getDevicesIdsList();
      String field = "container_requests[" + i + "].devices_ids";
      if (ids.isEmpty()) {
        out.onError(Status.INVALID_ARGUMENT.withDescription(field + " is empty").asRuntimeException());
        return;
      }
      Set<String> seen = new HashSet<>();
      try {
        for (String id : ids) {
          units.check(id, field);
          if (!seen.add(id)) {
            throw new IllegalArgumentException(field + ": " + id + " is listed twice");
          }
        }
        r.addContainerResponses(allocator.allocate(ids));
      } catch (IllegalArgumentException e) {
        out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        return;
      } catch (IOException | RuntimeException e) {
        LOG.warning("Allocate " + ids + " failed: " + e);
        out.onError(Status.INTERNAL.withDescription("allocating " + ids + ": " + e.getMessage()).asRuntimeException());
        return;
      }
      i++;
    }
    out.onNext(r.build());
    out.onCompleted();
  }

  @Override
  public void preStartContainer(PreStartContainerRequest request, StreamObserver<PreStartContainerResponse> out) {
    out.onNext(PreStartContainerResponse.getDefaultInstance());
    out.onCompleted();
  }
}
